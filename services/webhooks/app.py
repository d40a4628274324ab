"""Composition root of the webhooks service: partners' events become signed deliveries.

The consumer only stores deliveries (one per endpoint that wants the event) and acks; the
sender claims due deliveries from MongoDB and makes the HTTP requests. So no endpoint,
however slow, holds up the queue, another consumer or another partner.
"""

from __future__ import annotations

import logging
import socket
import uuid
from dataclasses import dataclass, fields
from datetime import timedelta

from services.webhooks.sender import DeliverySender
from shared.app.webhook_secrets import seal_stored_secrets
from shared.app.webhooks import enqueue_deliveries
from shared.domain.clock import Clock
from shared.domain.events import CloudEvent
from shared.infra.consuming import message_headers, subscribe_events
from shared.infra.runtime import ServiceContext, StartupError, open_context
from shared.infra.secret_box import SecretBox, SecretKeyError
from shared.infra.settings import Settings
from shared.infra.topology import PARTNER_HEADER, WEBHOOKS_EVENTS

SERVICE = "webhooks"
log = logging.getLogger("regwatch.webhooks")


@dataclass
class WebhooksService(ServiceContext):
    """The service context and its delivery sender."""

    sender: DeliverySender | None = None

    async def close(self) -> None:
        await self.broker.stop()  # no new deliveries first, then let requests end
        if self.sender is not None:
            await self.sender.stop()
        await super().close()


def register(service: WebhooksService) -> None:
    period = timedelta(hours=service.settings.webhook_retry_hours)

    async def on_event(event: CloudEvent) -> None:
        # The header the relay set, on which the broker routed the event to the partner's
        # own queue: the webhooks get exactly what that queue gets.
        partner_id = message_headers.get({}).get(PARTNER_HEADER)
        if not partner_id:
            return
        stored = await enqueue_deliveries(
            service.db,
            partner_id=str(partner_id),
            event=event.model_dump(mode="json"),
            now=service.clock.now(),
            period=period,
        )
        if stored and service.sender is not None:
            service.sender.wake()

    subscribe_events(service.broker, WEBHOOKS_EVENTS, service.settings, on_event)


async def start(
    settings: Settings, clock: Clock | None = None, *, worker: str | None = None
) -> WebhooksService:
    """Seal the secrets stored in plain text, connect, consume the partners' events and
    start sending."""
    try:
        box = SecretBox.from_settings(settings)
    except SecretKeyError as exc:
        raise StartupError(str(exc)) from None
    ctx = await open_context(SERVICE, settings, clock)
    try:
        if sealed := await seal_stored_secrets(ctx.db, box):
            log.info("sealed %d webhook signing secrets with the first key", sealed)
    except SecretKeyError as exc:
        await ctx.close()
        raise StartupError(str(exc)) from None
    service = WebhooksService(**{f.name: getattr(ctx, f.name) for f in fields(ServiceContext)})
    service.sender = DeliverySender(
        ctx.db,
        ctx.clock,
        settings,
        worker=worker or f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}",
    )
    register(service)
    await service.start_consuming()
    service.sender.start()
    return service


async def main(settings: Settings) -> None:
    service = await start(settings)
    log.info(
        "ready: consuming %s, %d deliveries in flight at most",
        WEBHOOKS_EVENTS.name,
        settings.webhook_concurrency,
    )
    await service.run_until_stopped()
