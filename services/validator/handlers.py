"""Validator handlers: re-evaluate on documents and decisions, move the lifecycle, once each."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.validator.loading import Loaded, attach_image_facts, load
from services.validator.serial import PerKeyLocks
from shared.app.decisions import (
    DecisionRefused,
    UnknownApplication,
    apply_decision,
    record_transition,
)
from shared.app.registrations import RegistrationRefused
from shared.domain.calendar import stored_day
from shared.domain.catalog import Catalog
from shared.domain.evaluation import Evaluation, evaluate, fingerprint
from shared.domain.events import (
    ApplicationDecision,
    ApplicationValidated,
    CloudEvent,
    DocumentRead,
    DocumentReceived,
    RegistrationStatusChanged,
    new_event,
)
from shared.domain.lifecycle import IllegalTransition, UnknownTrigger
from shared.domain.models import new_id
from shared.infra.inbox import InboxConflict, first_delivery, inbox_mark, mark_unchanged
from shared.infra.partner_routing import application_partner_of
from shared.infra.runtime import ServiceContext
from shared.infra.unit_of_work import UnitOfWork, duplicate_collection

log = logging.getLogger("regwatch.validator")

# Statuses in which complete documents move the application on by themselves.
PROGRESS_ON_COMPLETE = ("submitted", "additional_materials_requested", "rectification_requested")
# An application moved by someone else between the read and the move is read again.
STALE_READ_TRIES = 3


async def on_document_received(
    ctx: ServiceContext, catalog: Catalog, event: CloudEvent, received: DocumentReceived
) -> None:
    """A new document: evaluate its application again, unless an evaluation saw it."""
    # Documents arriving together: an evaluation triggered by an earlier one already saw
    # this document, so evaluating again would find the same result.
    await revalidate(
        ctx,
        catalog,
        application_id=received.application_id,
        cause=event,
        progress=True,
        unless=lambda latest: received.document_id in latest.get("document_ids", []),
    )


async def on_document_read(
    ctx: ServiceContext, catalog: Catalog, event: CloudEvent, read: DocumentRead
) -> None:
    """A document's facts are recorded: evaluate again, now with the content rules."""
    await revalidate(
        ctx,
        catalog,
        application_id=read.application_id,
        cause=event,
        progress=True,
        unless=lambda latest: read.document_id in latest.get("facts_used", []),
    )


async def on_window_opened(
    ctx: ServiceContext,
    catalog: Catalog,
    event: CloudEvent,
    change: RegistrationStatusChanged,
    locks: PerKeyLocks,
) -> None:
    """A registration's renewal window opened: the renewals waiting for it move on."""
    if change.trigger != "window_opened":
        return
    waiting = await (
        ctx.db["applications"]
        .find(
            {
                "registration_number": change.registration_number,
                "status": "waiting_for_window",
            },
            {"_id": 1},
        )
        .to_list()
    )
    for application in waiting:
        async with locks.hold(application["_id"]):
            await revalidate(
                ctx,
                catalog,
                application_id=application["_id"],
                cause=event,
                progress=True,
                inbox_key=f"{event.id}:{application['_id']}",
            )


async def on_decision(
    ctx: ServiceContext, catalog: Catalog, event: CloudEvent, decision: ApplicationDecision
) -> None:
    """Apply the decision (once, by its id), then re-evaluate the application."""
    try:
        await apply_decision(
            ctx,
            catalog=catalog,
            decision=decision,
            publish_decision=False,
            causation_id=event.id,
            correlation_id=event.correlationid,
        )
    except (
        IllegalTransition,
        UnknownTrigger,
        UnknownApplication,
        DecisionRefused,
        RegistrationRefused,
    ) as exc:
        await record_refusal(ctx, decision, str(exc))
        return
    await revalidate(
        ctx, catalog, application_id=decision.application_id, cause=event, progress=False
    )


async def record_refusal(ctx: ServiceContext, decision: ApplicationDecision, reason: str) -> None:
    """A decision that cannot apply is kept with its reason for ops (never retried)."""
    log.error("decision %s refused: %s", decision.decision_id, reason)
    await ctx.db["decisions"].update_one(
        {"_id": decision.decision_id},
        {
            "$setOnInsert": {
                "application_id": decision.application_id,
                "decided_at": ctx.clock.now(),
                "decision": decision.model_dump(mode="json"),
                "refused": reason,
            }
        },
        upsert=True,
    )


async def revalidate(
    ctx: ServiceContext,
    catalog: Catalog,
    *,
    application_id: str,
    cause: CloudEvent,
    progress: bool,
    inbox_key: str | None = None,
    unless: Callable[[dict[str, Any]], bool] | None = None,
) -> str | None:
    """Evaluate the whole application; returns the new result id, or None if nothing new.

    ``inbox_key``: what makes this evaluation once-only (default: the cause's event id;
    an event that concerns several applications names each).

    ``progress``: new documents may move the application (complete -> examination,
    requested materials or rectification received, refused by the catalog).

    ``unless``: given the latest result, True when it already answers the cause.

    One aggregate reads what the evaluation needs. A delivery that changes nothing (seen
    before, answered by the latest result, or evaluating to the latest fingerprint) writes
    its inbox mark alone; otherwise one transaction writes the mark, the result and the
    outbox entries as one batch (and the move, if any).
    """
    once = inbox_key or cause.id
    for attempt in range(1, STALE_READ_TRIES + 1):
        loaded = await load(ctx, application_id, once, readings=ctx.settings.reader_enabled)
        if loaded is None:
            if await first_delivery(ctx.db, ctx.service, once, ctx.clock):
                log.warning("event %s names unknown application %s", cause.id, application_id)
            return None
        if loaded.seen:
            return None
        if loaded.latest is not None and unless is not None and unless(loaded.latest):
            await mark_unchanged(ctx.db, ctx.service, once, ctx.clock)
            return None
        await attach_image_facts(ctx, catalog, loaded)
        now = ctx.clock.now()
        evaluation = evaluate(
            catalog,
            loaded.application,
            loaded.documents,
            now,
            reader_on=ctx.settings.reader_enabled,
        )
        digest = fingerprint(catalog, loaded.application, loaded.documents, evaluation.evaluated_on)
        if loaded.latest is not None and loaded.latest.get("fingerprint") == digest:
            await mark_unchanged(ctx.db, ctx.service, once, ctx.clock)
            return None
        try:
            return await _store(ctx, catalog, loaded, evaluation, digest, cause, progress, once)
        except DuplicateKeyError as exc:
            collection = duplicate_collection(exc, ctx.db)
            if collection == "inbox":  # another copy applied it, or is applying it
                raise InboxConflict(f"{ctx.service} is applying {once} elsewhere") from exc
            if collection != "validation_results":
                raise
            # An earlier result evaluated the same inputs: nothing new.
            await mark_unchanged(ctx.db, ctx.service, once, ctx.clock)
            return None
        except IllegalTransition:
            # Moved by someone else since it was read: read it again.
            if attempt == STALE_READ_TRIES:
                raise
    return None


async def _store(
    ctx: ServiceContext,
    catalog: Catalog,
    loaded: Loaded,
    evaluation: Evaluation,
    digest: str,
    cause: CloudEvent,
    progress: bool,
    once: str,
) -> str:
    """Store the result with the inbox mark and its event; move the application if due."""
    application, now = loaded.application, ctx.clock.now()
    result_id = new_id("val")
    result = {
        "_id": result_id,
        "application_id": application["_id"],
        "fingerprint": digest,
        "evaluated_at": now,
        "caused_by": cause.id,
        "status": application.get("status"),
        "document_ids": [document["_id"] for document in loaded.documents],
        **evaluation.model_dump(mode="json"),
    }
    event = new_event(
        "application.validated",
        ApplicationValidated(
            application_id=application["_id"],
            verdict=evaluation.verdict,
            missing=evaluation.missing,
            validation_id=result_id,
            catalog_version=evaluation.catalog_version,
        ),
        service=ctx.service,
        time=now,
        subject=application["_id"],
        correlation_id=cause.correlationid,
        causation_id=cause.id,
    )
    trigger = (
        progress_trigger(application.get("status", "submitted"), evaluation) if progress else None
    )

    async def work(uow: UnitOfWork) -> str:
        uow.insert("inbox", inbox_mark(ctx.service, once, ctx.clock))
        uow.insert("validation_results", result)
        uow.stage(event, partner_id=application_partner_of(application))
        if trigger is not None:
            waits = evaluation.waits_until
            await record_transition(
                uow,
                catalog=catalog,
                application=application,
                trigger=trigger,
                actor=ctx.service,
                reason=_reason(trigger, evaluation),
                now=now,
                service=ctx.service,
                causation_id=cause.id,
                correlation_id=cause.correlationid,
                items=evaluation.missing,
                reminder_time=ctx.settings.reminder_local_time,
                extra={"waiting_until": stored_day(waits)}
                if trigger == "window_not_open" and waits
                else None,
            )
        return result_id

    return await ctx.unit_of_work(work)


def progress_trigger(status: str, evaluation: Evaluation) -> str | None:
    """The trigger new documents (or the opening day) make in ``status``, if any.

    A renewal filed before its window opens waits, complete or not; once the window is
    open it goes to examination when complete, else back to collecting documents.
    """
    if evaluation.verdict == "refused" and status in ("submitted", "waiting_for_window"):
        return "catalog_refused"
    if evaluation.waits_until is not None:
        return "window_not_open" if status == "submitted" else None
    if status == "waiting_for_window":
        return "documents_complete" if evaluation.verdict == "complete" else "window_opened"
    if evaluation.verdict == "complete" and status in PROGRESS_ON_COMPLETE:
        return "documents_complete"
    return None


def _reason(trigger: str, evaluation: Evaluation) -> str:
    if trigger == "catalog_refused":
        return "; ".join(o.message for o in evaluation.outcomes if o.refuses)
    if trigger == "window_not_open":
        return f"the renewal window opens on {evaluation.waits_until}: the application waits"
    if trigger == "window_opened":
        return "the renewal window is open; documents are still missing"
    return f"all {len(evaluation.outcomes)} rules of catalog {evaluation.catalog_version} pass"
