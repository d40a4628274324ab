"""Composition root of the validator: consumes events that change an application."""

from __future__ import annotations

import logging
from typing import Any

from services.validator.handlers import (
    on_decision,
    on_document_read,
    on_document_received,
    on_window_opened,
)
from services.validator.serial import PerKeyLocks
from shared.domain.catalog import Catalog, CatalogError, cached_catalog
from shared.domain.events import (
    ApplicationDecision,
    CloudEvent,
    DocumentRead,
    DocumentReceived,
    RegistrationStatusChanged,
)
from shared.infra.consuming import Route, dispatch, subscribe_events
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


def routes(ctx: ServiceContext, catalog: Catalog) -> dict[str, Route[Any]]:
    """The validator's events, each handled under its application's lock."""
    applications = PerKeyLocks()

    async def document_received(event: CloudEvent, received: DocumentReceived) -> None:
        async with applications.hold(received.application_id):
            await on_document_received(ctx, catalog, event, received)

    async def document_read(event: CloudEvent, read: DocumentRead) -> None:
        async with applications.hold(read.application_id):
            await on_document_read(ctx, catalog, event, read)

    async def decision(event: CloudEvent, decided: ApplicationDecision) -> None:
        async with applications.hold(decided.application_id):
            await on_decision(ctx, catalog, event, decided)

    async def registration_moved(event: CloudEvent, change: RegistrationStatusChanged) -> None:
        # Each waiting application is then evaluated under its own key's lock.
        await on_window_opened(ctx, catalog, event, change, applications)

    return {
        "document.received": Route(DocumentReceived, document_received),
        "document.read": Route(DocumentRead, document_read),
        "application.decision": Route(ApplicationDecision, decision),
        "registration.status_changed": Route(RegistrationStatusChanged, registration_moved),
    }


def register(ctx: ServiceContext, catalog: Catalog) -> None:
    subscribe_events(ctx.broker, VALIDATOR_EVENTS, ctx.settings, dispatch(routes(ctx, catalog)))


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
