"""Composition root of the intake service: AMQP consumer, outbox relay, orphan sweeps and
the HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field, fields
from datetime import timedelta

import uvicorn

from services.intake import amqp, amqp_applications
from services.intake.document_types import catalog_of
from services.intake.http import create_http_app
from services.intake.lookups import Lookups
from services.intake.orphans import run_orphan_sweeps
from shared.infra.runtime import ServiceContext, open_context
from shared.infra.serving import Server, listen, serve_until_cancelled
from shared.infra.settings import Settings
from shared.infra.topology import INTAKE_APPLICATIONS, INTAKE_DOCUMENTS

SERVICE = "intake"
log = logging.getLogger("regwatch.intake")


@dataclass
class IntakeContext(ServiceContext):
    """The service context plus the intake's background tasks, stopped on close."""

    lookups: Lookups | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await super().close()


async def start(settings: Settings) -> IntakeContext:
    """Connect, subscribe and start consuming, relaying and sweeping orphans."""
    catalog_of(settings)  # a broken catalog stops the start, not each submission
    base = await open_context(SERVICE, settings)
    ctx = IntakeContext(
        **{f.name: getattr(base, f.name) for f in fields(ServiceContext)},
        lookups=Lookups(base.db, ttl_seconds=settings.intake_lookup_cache_seconds),
    )
    amqp.register(ctx.broker, ctx)
    amqp_applications.register(ctx.broker, ctx)
    await ctx.broker.start()
    ctx.relay.start()
    sweeps = run_orphan_sweeps(
        ctx.db,
        ctx.clock,
        every=timedelta(seconds=settings.orphan_sweep_seconds),
        grace=timedelta(seconds=settings.orphan_grace_seconds),
    )
    ctx.tasks.append(asyncio.create_task(sweeps, name="orphan-sweeps"))
    return ctx


async def main(settings: Settings) -> None:
    sock = listen(settings.http_host, settings.intake_http_port, "INTAKE_HTTP_PORT")
    ctx = await start(settings)
    config = uvicorn.Config(
        create_http_app(ctx),
        host=settings.http_host,
        port=settings.intake_http_port,
        log_config=None,
        # h11 bounds a request's headers (16 KiB), refusing more with 400; httptools does not.
        http="h11",
    )
    log.info(
        "ready: consuming %s and %s, HTTP API on http://%s:%d",
        INTAKE_DOCUMENTS.name,
        INTAKE_APPLICATIONS.name,
        settings.http_host,
        settings.intake_http_port,
    )
    try:
        await serve_until_cancelled(Server(config), sock)
    finally:  # after the last request and message: in-flight work ends before we close
        await ctx.close()
