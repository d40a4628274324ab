"""Composition root of the validator: consumes events that change an application."""

from __future__ import annotations

import logging

from services.validator.handlers import (
    on_decision,
    on_document_read,
    on_document_received,
    on_window_opened,
)
from services.validator.serial import PerKeyLocks
from shared.domain.catalog import Catalog, CatalogError, cached_catalog
from shared.domain.events import CloudEvent
from shared.infra.consuming import subscribe_events
from shared.infra.runtime import ServiceContext, StartupError, open_context
from shared.infra.settings import Settings
from shared.infra.topology import VALIDATOR_EVENTS

SERVICE = "validator"
log = logging.getLogger("regwatch.validator")


def catalog_for(settings: Settings) -> Catalog:
    """The requirements catalog; an invalid one stops the service before it consumes."""
    try:
        return cached_catalog(settings.catalog_dir)
    except CatalogError as exc:
        raise StartupError(f"invalid requirements catalog: {exc}") from None


def register(ctx: ServiceContext, catalog: Catalog) -> None:
    applications = PerKeyLocks()

    handlers = {
        "document.received": on_document_received,
        "document.read": on_document_read,
        "application.decision": on_decision,
    }

    async def on_event(event: CloudEvent) -> None:
        if event.type == "registration.status_changed":
            # Each waiting application is then evaluated under its own key's lock.
            await on_window_opened(ctx, catalog, event, applications)
            return
        handler = handlers.get(event.type)
        if handler is None:
            return
        key = event.subject or str(event.data.get("application_id", ""))
        async with applications.hold(key):
            await handler(ctx, catalog, event)

    subscribe_events(ctx.broker, VALIDATOR_EVENTS, ctx.settings, on_event)


async def start(settings: Settings) -> ServiceContext:
    catalog = catalog_for(settings)
    ctx = await open_context(SERVICE, settings)
    register(ctx, catalog)
    await ctx.start_consuming()
    return ctx


async def main(settings: Settings) -> None:
    ctx = await start(settings)
    log.info("ready: consuming %s", VALIDATOR_EVENTS.name)
    await ctx.run_until_stopped()
