"""Composition root of the notifier: consumes deadline and lifecycle events, sends email."""

from __future__ import annotations

import logging

from services.notifier.handlers import notify
from shared.domain.clock import Clock
from shared.domain.events import CloudEvent
from shared.infra.consuming import subscribe_events
from shared.infra.runtime import ServiceContext, open_context
from shared.infra.settings import Settings
from shared.infra.topology import NOTIFIER_EVENTS

SERVICE = "notifier"
log = logging.getLogger("regwatch.notifier")


def register(ctx: ServiceContext) -> None:
    async def on_event(event: CloudEvent) -> None:
        await notify(ctx, event)

    subscribe_events(ctx.broker, NOTIFIER_EVENTS, ctx.settings, on_event)


async def start(settings: Settings, clock: Clock | None = None) -> ServiceContext:
    ctx = await open_context(SERVICE, settings, clock)
    register(ctx)
    await ctx.start_consuming()
    return ctx


async def main(settings: Settings) -> None:
    ctx = await start(settings)
    log.info("ready: consuming %s", NOTIFIER_EVENTS.name)
    await ctx.run_until_stopped()
