"""Applying the lifecycle to stored applications: decisions from ops, and system triggers.

``record_transition`` is the one writer of an application's status: it checks the move
against ``shared.domain.lifecycle``, appends the history line, closes the windows of the status
left, opens the window of the status entered (as a deadline for the scheduler) and stages
``application.status_changed``, all inside the caller's unit of work.
``apply_decision`` wraps it for ops decisions (HTTP and ``application.decision`` events).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.app import registrations
from shared.app.registration_lifecycle import follow_renewal
from shared.domain.calendar import authority_date, end_of_day
from shared.domain.catalog import Catalog, Regime
from shared.domain.deadlines import Deadline, processing_deadline
from shared.domain.evaluation.inputs import ApplicationFacts
from shared.domain.events import (
    ApplicationDecision,
    ApplicationStatusChanged,
    new_event,
)
from shared.domain.lifecycle import (
    DecisionKind,
    IllegalTransition,
    StatusChange,
    Transition,
    transition,
    trigger_for,
)
from shared.domain.models import new_id
from shared.infra.deadline_store import close_deadline, open_deadline
from shared.infra.partner_routing import application_partner_of
from shared.infra.runtime import ServiceContext
from shared.infra.unit_of_work import UnitOfWork


class UnknownApplication(LookupError):
    """No application has this id."""


class DecisionRefused(ValueError):
    """The decision cannot be applied; the message says what to change."""


class Decision(BaseModel):
    """What ops record (the HTTP body; the event payload carries the same fields)."""

    model_config = ConfigDict(extra="forbid")

    kind: DecisionKind
    reason: str | None = Field(default=None, max_length=2000)
    items: list[str] = Field(default_factory=list, max_length=200)
    registration_number: str | None = Field(default=None, min_length=1, max_length=64)
    issued_on: date | None = None
    valid_until: date | None = None
    assessment_on: date | None = None
    # The date on the authority's notice: a 30-day window runs from it (default: today).
    notified_on: date | None = None
    decision_id: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _certificate_is_complete(self) -> Decision:
        if self.kind == "certificate_issued":
            absent = [
                f
                for f in ("registration_number", "issued_on", "valid_until")
                if not getattr(self, f)
            ]
            if absent:
                raise ValueError(f"certificate_issued needs {', '.join(absent)}")
            assert self.issued_on
            assert self.valid_until
            if self.valid_until <= self.issued_on:
                raise ValueError("valid_until must be after issued_on")
        return self

    def as_payload(self, application_id: str, actor: str, now: datetime) -> ApplicationDecision:
        values = self.model_dump(exclude={"decision_id"})
        return ApplicationDecision(
            decision_id=self.decision_id or new_id("dec"),
            application_id=application_id,
            actor=actor,
            decided_at=now,
            **values,
        )


@dataclass
class TransitionRecord:
    change: StatusChange
    deadline: Deadline | None
    event_id: str  # the application.status_changed event staged


@dataclass
class DecisionOutcome:
    decision_id: str
    application_id: str
    kind: str
    from_status: str
    to_status: str
    repeated: bool  # the same decision id was applied before: nothing changed now
    due_at: datetime | None = None
    registration_number: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def regime_of(catalog: Catalog, application: dict[str, Any], now: datetime) -> Regime | None:
    """The regime the application falls under (as the evaluation chooses it)."""
    facts = ApplicationFacts.from_record(application, now)
    if facts.category not in catalog.categories:
        return None
    return catalog.regime_for(facts.category, facts.regime_date())


async def record_transition(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    application: dict[str, Any],
    trigger: str,
    actor: str,
    reason: str | None,
    now: datetime,
    service: str,
    causation_id: str | None = None,
    correlation_id: str | None = None,
    items: list[str] | None = None,
    extra: dict[str, Any] | None = None,
    notified_on: date | None = None,
    reminder_time: str = "09:00",
) -> TransitionRecord:
    """Move ``application`` by ``trigger`` (raises ``IllegalTransition``) and stage the event.

    A renewal application's move may move its registration too (filed, returned); those
    events are staged in the same unit of work. ``notified_on``: the date on the authority's
    notice, from which a window the new status opens runs (default: today in Beijing).
    """
    move = transition(application.get("status", "submitted"), trigger)
    extra = dict(extra or {})
    if move.from_status == "waiting_for_window" and move.to_status != "refused":
        extra["submitted_at"] = now  # leaving the wait is the filing

    change = StatusChange(
        from_status=move.from_status,
        to_status=move.to_status,
        actor=actor,
        reason=reason,
        at=now,
        trigger=trigger,
    )
    updated = await uow.db["applications"].update_one(
        {"_id": application["_id"], "status": move.from_status},
        {
            "$set": {"status": move.to_status, "updated_at": now, **(extra or {})},
            "$push": {"history": change.model_dump()},
        },
        session=uow.session,
    )
    if updated.matched_count != 1:  # moved by someone else meanwhile: let the caller retry
        raise IllegalTransition(str(application.get("status")), trigger)
    await _close_windows(uow, application["_id"], trigger, now)
    deadline = await _open_window(
        uow,
        catalog,
        {**application, **extra},
        move,
        now,
        notified_on or authority_date(now),
        reminder_time,
    )
    event = new_event(
        "application.status_changed",
        ApplicationStatusChanged(
            application_id=application["_id"],
            from_status=move.from_status,
            to_status=move.to_status,
            actor=actor,
            reason=reason,
            at=now,
            trigger=trigger,
            due_at=deadline.due_at if deadline else None,
            items=items or [],
            registration_number=extra.get("registration_number"),
            valid_until=_as_date(extra.get("registration_valid_until")),
            waiting_until=_as_date(extra.get("waiting_until")),
        ),
        service=service,
        time=now,
        subject=application["_id"],
        correlation_id=correlation_id,
        causation_id=causation_id,
    )
    uow.stage(event, partner_id=application_partner_of(application))
    await follow_renewal(
        uow,
        application={
            **application,
            **extra,
            "history": [*application.get("history", []), change.model_dump()],
        },
        transition=move,
        now=now,
        service=service,
    )
    return TransitionRecord(change, deadline, event.id)


def _as_date(value: Any) -> date | None:
    return value.date() if isinstance(value, datetime) else value


async def _close_windows(uow: UnitOfWork, application_id: str, trigger: str, now: datetime) -> None:
    """Every transition ends the windows of the status it leaves."""
    cursor = uow.db["deadlines"].find(
        {"subject": application_id, "status": "open"}, {"_id": 1}, session=uow.session
    )
    async for deadline in cursor:
        await close_deadline(uow.db, deadline["_id"], f"closed by {trigger}", now, uow.session)


async def _open_window(
    uow: UnitOfWork,
    catalog: Catalog,
    application: dict[str, Any],
    move: Transition,
    now: datetime,
    notified_on: date,
    reminder_time: str,
) -> Deadline | None:
    kind = move.opens_window
    regime = regime_of(catalog, application, now) if kind else None
    if kind is None or regime is None:
        return None
    windows = regime.windows
    days = windows.days_for(kind)
    if days is None:
        return None
    exporter = application.get("exporter") or {}
    if kind == "processing":
        deadline = processing_deadline(
            application_id=application["_id"],
            # With the authority since the filing (a renewal that waited: the opening day).
            submitted_at=application.get("submitted_at") or application.get("created_at") or now,
            opened_at=now,
            processing_days=days,
            source=windows.source_for(kind),
        )
        # One processing watch per application (the scheduler's sweep may have opened it).
        if await uow.db["deadlines"].find_one(
            {"_id": deadline.id}, {"_id": 1}, session=uow.session
        ):
            return None
    else:
        deadline = Deadline(
            _id=new_id("dl"),
            kind=kind,
            subject=application["_id"],
            application_id=application["_id"],
            due_at=end_of_day(notified_on + timedelta(days=days)),
            reminder_time=reminder_time,
            opened_at=now,
            reminder_offsets_days=windows.reminder_offsets_days.get(kind, []),
            on_missed=windows.on_missed.get(kind),
            source=windows.source_for(kind),
            exporter_name=exporter.get("name"),
            product=application.get("product"),
            contact_emails=list(exporter.get("contact_emails") or []),
        )
    await open_deadline(uow.db, deadline, uow.session)
    return deadline


async def apply_decision(
    ctx: ServiceContext,
    *,
    catalog: Catalog,
    decision: ApplicationDecision,
    publish_decision: bool,
    causation_id: str | None = None,
    correlation_id: str | None = None,
) -> DecisionOutcome:
    """Apply ``decision`` once (by its id) and publish what follows through the outbox.

    ``publish_decision``: also stage the ``application.decision`` event (the HTTP path), so
    the validator re-evaluates; the event path already is that event.
    """

    async def work(uow: UnitOfWork) -> DecisionOutcome:
        return await _apply(
            ctx, uow, catalog, decision, publish_decision, causation_id, correlation_id
        )

    return await ctx.unit_of_work(work)


async def _apply(
    ctx: ServiceContext,
    uow: UnitOfWork,
    catalog: Catalog,
    decision: ApplicationDecision,
    publish_decision: bool,
    causation_id: str | None,
    correlation_id: str | None,
) -> DecisionOutcome:
    db, session, now, service = uow.db, uow.session, ctx.clock.now(), ctx.service
    stored = await db["decisions"].find_one({"_id": decision.decision_id}, session=session)
    if stored is not None:
        # Older records kept the event ids of the outcome too: they are no field now.
        previous = {k: v for k, v in stored["outcome"].items() if k != "event_ids"}
        return DecisionOutcome(**{**previous, "repeated": True})
    application = await db["applications"].find_one(
        {"_id": decision.application_id}, session=session
    )
    if application is None:
        raise UnknownApplication(f"There is no application {decision.application_id}.")
    trigger = trigger_for(decision.kind, application.get("kind", "new"))
    transition(application.get("status", "submitted"), trigger)  # refuse before any write
    extra: dict[str, Any] = {}
    if decision.kind == "certificate_issued":
        extra = await registrations.record_certificate(
            uow,
            catalog=catalog,
            application=application,
            decision=decision,
            now=now,
            service=service,
            reminder_time=ctx.settings.reminder_local_time,
        )
    record = await record_transition(
        uow,
        catalog=catalog,
        application=application,
        trigger=trigger,
        actor=decision.actor,
        reason=decision.reason or _default_reason(decision),
        now=now,
        service=service,
        causation_id=causation_id,
        correlation_id=correlation_id,
        items=decision.items,
        extra=extra,
        notified_on=decision.notified_on,
        reminder_time=ctx.settings.reminder_local_time,
    )
    outcome = DecisionOutcome(
        decision_id=decision.decision_id,
        application_id=decision.application_id,
        kind=decision.kind,
        from_status=record.change.from_status or "",
        to_status=record.change.to_status,
        repeated=False,
        due_at=record.deadline.due_at if record.deadline else None,
        registration_number=decision.registration_number,
    )
    if publish_decision:
        event = new_event(
            "application.decision",
            decision,
            service=service,
            time=now,
            subject=decision.application_id,
            correlation_id=correlation_id,
            event_id=f"decision:{decision.decision_id}",
        )
        uow.stage(event)
    await db["decisions"].insert_one(
        {
            "_id": decision.decision_id,
            "application_id": decision.application_id,
            "decided_at": now,
            "decision": decision.model_dump(mode="json"),
            "outcome": {**outcome.as_dict(), "repeated": False},
        },
        session=session,
    )
    return outcome


def _default_reason(decision: ApplicationDecision) -> str:
    reasons = {
        "acceptance_notice": "acceptance notice issued",
        "non_acceptance_notice": "non-acceptance notice issued",
        "additional_materials_requested": "additional materials requested",
        "rectification_requested": "rectification requested",
        "onsite_assessment_scheduled": "on-site assessment scheduled",
        "certificate_issued": "certificate issued",
        "failure_notice": "notification of failure issued",
    }
    text = reasons[decision.kind]
    if decision.kind == "onsite_assessment_scheduled" and decision.assessment_on:
        text += f" for {decision.assessment_on}"
    if decision.items:
        text += ": " + "; ".join(decision.items)
    return text
