"""Composition root of the intake service: AMQP consumer, outbox relay and HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from services.intake import amqp
from services.intake.http import create_http_app
from shared.runtime import ServiceContext, open_context
from shared.settings import Settings

SERVICE = "intake"


async def start(settings: Settings) -> ServiceContext:
    """Connect, subscribe and start consuming and relaying."""
    ctx = await open_context(SERVICE, settings)
    amqp.register(ctx.broker, ctx)
    await ctx.broker.start()
    ctx.relay.start()
    return ctx


async def main(settings: Settings) -> None:
    ctx = await start(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await ctx.close()

    app = create_http_app(ctx)
    app.router.lifespan_context = lifespan
    config = uvicorn.Config(
        app, host=settings.http_host, port=settings.intake_http_port, log_config=None
    )
    await uvicorn.Server(config).serve()
