"""The notification handler: an event becomes one email per contact, each sent once.

SMTP down or refusing for now: bounded retries with doubling waits, then the pending
deliveries are marked failed, ``notification.failed`` is published and the event is
dead-lettered with the reason. A recipient refused for good fails alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError

from services.notifier import deliveries
from services.notifier.application_notices import ApplicationChange, status_notice
from services.notifier.contacts import contact_languages
from services.notifier.deadline_notices import DEADLINE_NOTICES, deadline_notice
from services.notifier.notices import (
    ADVISED_TEMPLATES,
    IncompleteEvent,
    Notice,
    regime_ended,
    regime_ending,
)
from services.notifier.registration_notices import registration_notice
from services.notifier.render import compose
from services.notifier.smtp import RecipientRefused, SmtpUnavailable, connection, send
from shared.app.calendar_links import calendar_path, calendar_token
from shared.domain.calendar import authority_date
from shared.domain.catalog import cached_catalog
from shared.domain.deadlines import days_left
from shared.domain.events import (
    ApplicationStatusChanged,
    CloudEvent,
    DeadlineEvent,
    Payload,
    RegistrationStatusChanged,
)
from shared.domain.models import Application
from shared.infra.consuming import GiveUp
from shared.infra.runtime import ServiceContext

log = logging.getLogger("regwatch.notifier")


async def _deadline(
    ctx: ServiceContext, event: CloudEvent, d: DeadlineEvent, today: date
) -> Notice:
    ended = regime_ended(cached_catalog(ctx.settings.catalog_dir), d.category, today)
    return deadline_notice(event.type, d, ctx.settings.ops_email, ended)


async def _registration(
    ctx: ServiceContext, event: CloudEvent, change: RegistrationStatusChanged, today: date
) -> Notice | None:
    return registration_notice(change)


async def _application(
    ctx: ServiceContext, event: CloudEvent, change: ApplicationStatusChanged, today: date
) -> Notice | None:
    found = await ctx.db["applications"].find_one({"_id": change.application_id})
    if found is None:
        log.warning(
            "status change %s names unknown application %s", event.id, change.application_id
        )
        return None
    application = Application.model_validate(found)
    latest = await ctx.db["validation_results"].find_one(
        {"application_id": change.application_id}, {"missing": 1}, sort=[("evaluated_at", -1)]
    )
    due_at = change.due_at  # the end of the window this status opened, when it says so
    if due_at is None:
        window = await ctx.db["deadlines"].find_one(
            {"subject": change.application_id, "kind": {"$ne": "processing"}, "status": "open"},
            sort=[("due_at", -1)],
        )
        due_at = window["due_at"] if window else None
    return status_notice(
        ApplicationChange(
            change=change,
            application=application,
            missing=list((latest or {}).get("missing") or []),
            due_at=due_at,
            days_left=days_left(due_at, ctx.clock.now()) if due_at else None,
        ),
        regime_ended(cached_catalog(ctx.settings.catalog_dir), application.category, today),
    )


@dataclass(frozen=True)
class Route:
    """How one event type becomes a notice: its payload model and its notice function
    (given the Beijing day the notice is made)."""

    payload: type[Payload]
    notice: Callable[[ServiceContext, CloudEvent, Any, date], Awaitable[Notice | None]]


ROUTES: dict[str, Route] = {
    **{event_type: Route(DeadlineEvent, _deadline) for event_type in DEADLINE_NOTICES},
    "registration.status_changed": Route(RegistrationStatusChanged, _registration),
    "application.status_changed": Route(ApplicationStatusChanged, _application),
}


async def notice_for(ctx: ServiceContext, event: CloudEvent) -> Notice | None:
    """The notice an event calls for, or None when it is nothing anybody hears about.

    A payload that does not validate, or lacks what its email must state, can never
    succeed: it goes to the dead-letter queue at once with the reason, for ops.
    """
    route = ROUTES.get(event.type)
    if route is None:
        return None
    today = authority_date(ctx.clock.now())  # true on the day it is sent: one day throughout
    try:
        payload = route.payload.model_validate(event.data)
        notice = await route.notice(ctx, event, payload, today)
    except (ValidationError, IncompleteEvent) as exc:
        raise GiveUp(f"{event.type} {event.id} cannot be told: {exc}") from exc
    if notice is not None:  # each contact reads its email in its own language
        catalog = cached_catalog(ctx.settings.catalog_dir)
        category = notice.category or _category(payload)
        notice.regime_ended = regime_ended(catalog, category, today)
        notice.regime_ending = regime_ending(catalog, category, today)
        notice.languages = await contact_languages(ctx.db, notice.recipients)
        if notice.template in ADVISED_TEMPLATES and notice.application_id:
            notice.advice = await latest_advice(ctx, notice.application_id)
    return notice


def _category(payload: Payload) -> str | None:
    """The category a deadline names (its email does not list it, the wording may need it)."""
    return payload.category if isinstance(payload, DeadlineEvent) else None


async def latest_advice(ctx: ServiceContext, application_id: str) -> list[str]:
    """The warnings of the application's latest check (its advisory rules that failed)."""
    latest = await ctx.db["validation_results"].find_one(
        {"application_id": application_id}, {"warnings": 1}, sort=[("evaluated_at", -1)]
    )
    return [str(w) for w in (latest or {}).get("warnings") or []]


def backoff(ctx: ServiceContext, attempt: int) -> float:
    settings = ctx.settings
    return float(
        min(settings.smtp_retry_base_seconds * 2 ** (attempt - 1), settings.smtp_retry_max_seconds)
    )


def delivery_lease(ctx: ServiceContext) -> timedelta:
    """Long enough for every attempt of one handler, so nobody else sends meanwhile."""
    s = ctx.settings
    per_attempt = s.smtp_timeout_seconds * 2 + s.smtp_retry_max_seconds
    return timedelta(seconds=s.smtp_retry_attempts * per_attempt + 60)


async def _send_pending(
    ctx: ServiceContext,
    event: CloudEvent,
    notice: Notice,
    pending: dict[str, str],
) -> str | None:
    """One attempt over one connection; None when nothing is left, else why it stopped."""
    try:
        async with connection(ctx.settings) as smtp:
            for recipient, token in list(pending.items()):
                message = compose(
                    notice,
                    recipient=recipient,
                    sender=ctx.settings.mail_from,
                    event_id=event.id,
                    event_type=event.type,
                    date=ctx.clock.now(),
                    calendar_url=await calendar_url_for(ctx, recipient),
                )
                common = {
                    "event_id": event.id,
                    "event_type": event.type,
                    "recipient": recipient,
                    "token": token,
                }
                try:
                    await send(smtp, message, recipient)
                    await deliveries.record(
                        ctx, **common, status="sent", subject=str(message["Subject"])
                    )
                except RecipientRefused as exc:
                    reason = f"the mail server refused {recipient}: {exc}"
                    await deliveries.record(ctx, **common, status="refused", reason=reason)
                del pending[recipient]
    except SmtpUnavailable as exc:
        return str(exc)
    except Exception as exc:  # connecting (aiosmtplib's connect errors, OSError)
        if isinstance(exc, asyncio.CancelledError):
            raise
        return f"{type(exc).__name__}: {exc}"
    return None


async def calendar_url_for(ctx: ServiceContext, recipient: str) -> str | None:
    """The contact's own calendar link for the footer (ops have no deadlines of their own)."""
    if recipient in (ctx.settings.ops_email, deliveries.NO_RECIPIENT):
        return None
    token = await calendar_token(ctx.db, recipient, ctx.clock.now())
    return ctx.settings.public_base_url.rstrip("/") + calendar_path(token)


async def _give_up(
    ctx: ServiceContext, event: CloudEvent, pending: dict[str, str], error: str
) -> str:
    """Record the failed deliveries; returns the reason the event is dead-lettered with."""
    attempts = ctx.settings.smtp_retry_attempts
    reason = (
        f"SMTP {ctx.settings.smtp_host}:{ctx.settings.smtp_port} failed {attempts} times: {error}"
    )
    for recipient, token in pending.items():
        await deliveries.record(
            ctx,
            event_id=event.id,
            event_type=event.type,
            recipient=recipient,
            token=token,
            status="failed",
            reason=reason,
        )
    return reason


HOLDER_POLL_SECONDS = 1.0


async def _claim_when_free(ctx: ServiceContext, event: CloudEvent, recipient: str) -> str | None:
    """Claim one delivery, waiting while another notifier holds it.

    The holder either finishes (nothing is left to send: None) or died mid-send, and then
    its lease ends and this notifier takes over. Failing at once instead would spend the
    message's few deliveries in seconds against a lease of minutes, and dead-letter a
    reminder that nobody sent. The wait is bounded by one lease.
    """
    lease = delivery_lease(ctx)
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + lease.total_seconds() + HOLDER_POLL_SECONDS
    while True:
        try:
            return await deliveries.claim(
                ctx, event_id=event.id, event_type=event.type, recipient=recipient, lease=lease
            )
        except deliveries.DeliveryInFlight:
            if loop.time() >= give_up_at:
                raise
            await asyncio.sleep(HOLDER_POLL_SECONDS)


async def _claim_all(
    ctx: ServiceContext, event: CloudEvent, recipients: list[str]
) -> dict[str, str]:
    pending: dict[str, str] = {}
    for recipient in recipients:
        token = await _claim_when_free(ctx, event, recipient)
        if token is not None:
            pending[recipient] = token
    return pending


async def notify(ctx: ServiceContext, event: CloudEvent) -> None:
    """Send the emails ``event`` calls for; each (event, recipient) at most once."""
    notice = await notice_for(ctx, event)
    if notice is None:
        return
    recipients = notice.recipients or [deliveries.NO_RECIPIENT]
    pending = await _claim_all(ctx, event, recipients)
    if deliveries.NO_RECIPIENT in pending:
        reason = "no contact email on the application, the registration or the deadline"
        token = pending.pop(deliveries.NO_RECIPIENT)
        await deliveries.record(
            ctx,
            event_id=event.id,
            event_type=event.type,
            recipient=deliveries.NO_RECIPIENT,
            token=token,
            status="refused",
            reason=reason,
        )
    attempt = 0
    gave_up: str | None = None
    while pending:
        error = await _send_pending(ctx, event, notice, pending)
        if error is None:
            break
        attempt += 1
        if attempt >= ctx.settings.smtp_retry_attempts:
            gave_up = await _give_up(ctx, event, pending, error)
            break
        log.warning("SMTP attempt %d for %s failed (%s); retrying", attempt, event.id, error)
        for recipient in pending:
            await deliveries.count_attempt(ctx, event.id, recipient, error)
        await asyncio.sleep(backoff(ctx, attempt))
    if gave_up is not None:
        raise GiveUp(gave_up)  # to the dead-letter queue with the reason, for ops to replay
