"""Composition root of the validator: consumes events that change an application."""

from __future__ import annotations

import asyncio

from services.validator.handlers import revalidate
from shared.consuming import subscribe_events
from shared.events import CloudEvent
from shared.runtime import ServiceContext, open_context
from shared.settings import Settings
from shared.topology import VALIDATOR_EVENTS

SERVICE = "validator"


def register(ctx: ServiceContext) -> None:
    async def on_event(event: CloudEvent) -> None:
        if event.type == "document.received" and event.subject:
            await revalidate(ctx, event.subject, event)

    subscribe_events(ctx.broker, VALIDATOR_EVENTS, ctx.settings, on_event)


async def start(settings: Settings) -> ServiceContext:
    ctx = await open_context(SERVICE, settings)
    register(ctx)
    await ctx.broker.start()
    ctx.relay.start()
    return ctx


async def main(settings: Settings) -> None:
    ctx = await start(settings)
    try:
        await asyncio.Event().wait()
    finally:
        await ctx.close()
