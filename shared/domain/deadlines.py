"""Deadlines and their reminder points: the contract between lifecycle and scheduler.

The lifecycle (validator, imports) opens and closes deadlines (``shared.infra.deadline_store``);
the scheduler emits their reminder points. A deadline document lives in ``deadlines``; each
reminder point is a document in ``reminders`` with the unique id ``"{deadline_id}:{point}"``.

Reminder points: ``T-<n>d`` (n days before ``due_at``), ``due`` (the window closes:
``deadline.missed``, or ``deadline.processing_overdue`` for the processing watch) and, for
renewals, ``expired`` (``expires_at``: ``registration.expired``).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.domain.models import Record

DeadlineKind = Literal["renewal", "additional_materials", "rectification", "processing"]
ReminderStatus = Literal["pending", "claimed", "emitted", "skipped", "cancelled"]

DEFAULT_OFFSETS_DAYS: dict[str, list[int]] = {
    "renewal": [180, 120, 90, 60, 30, 14, 7, 1],
    "additional_materials": [14, 7, 3, 1],
    "rectification": [14, 7, 3, 1],
    "processing": [],
}

# Seed 001: "Application time 10-30 days"; past this the authority is overdue.
DEFAULT_PROCESSING_DAYS = 30
# Application statuses in which the authority, not the exporter, has to act.
WITH_THE_AUTHORITY = ("submitted", "under_examination")


class Deadline(Record):
    kind: DeadlineKind
    subject: str  # the application id, or the registration number for renewals
    application_id: str | None = None
    registration_id: str | None = None
    due_at: datetime  # when the window closes
    expires_at: datetime | None = None  # renewals: when the registration itself expires
    opened_at: datetime
    status: Literal["open", "closed", "missed"] = "open"
    reminder_offsets_days: list[int] = Field(default_factory=list)
    on_missed: str | None = None  # the lifecycle status the catalog names for a missed window
    source: str | None = None  # the catalog rule that set this window
    closed_at: datetime | None = None
    closed_reason: str | None = None
    # Optional snapshot of who is reminded; the scheduler falls back to the application or
    # registration document when these are not given.
    registration_number: str | None = None
    exporter_name: str | None = None
    product: str | None = None
    contact_emails: list[str] = Field(default_factory=list)


class ReminderPoint(BaseModel):
    point: str  # "T-14d", "due", "expired"
    event_type: str
    fire_at: datetime


def reminder_id(deadline_id: str, point: str) -> str:
    """The unique id of one reminder point of a deadline."""
    return f"{deadline_id}:{point}"


def reminder_points(deadline: Deadline) -> list[ReminderPoint]:
    """Every reminder point of ``deadline``, earliest first (pure)."""
    due_type = (
        "deadline.renewal_due" if deadline.kind == "renewal" else "deadline.rectification_due"
    )
    if deadline.kind == "processing":
        due_type = "deadline.processing_overdue"
    points = [
        ReminderPoint(
            point=f"T-{days}d", event_type=due_type, fire_at=deadline.due_at - timedelta(days=days)
        )
        for days in sorted(set(deadline.reminder_offsets_days), reverse=True)
    ]
    if deadline.kind == "processing":
        points.append(ReminderPoint(point="due", event_type=due_type, fire_at=deadline.due_at))
    else:
        points.append(
            ReminderPoint(point="due", event_type="deadline.missed", fire_at=deadline.due_at)
        )
    if deadline.expires_at is not None:
        points.append(
            ReminderPoint(
                point="expired", event_type="registration.expired", fire_at=deadline.expires_at
            )
        )
    return sorted(points, key=lambda p: p.fire_at)


def days_left(due_at: datetime, now: datetime) -> int:
    """Whole days from ``now`` until ``due_at``, rounded up (0 once it has passed).

    Rounded up so that a reminder fired a few seconds after ``T-14d`` still says 14.
    """
    return max(0, math.ceil((due_at - now) / timedelta(days=1)))


def processing_deadline(
    *,
    application_id: str,
    submitted_at: datetime,
    opened_at: datetime,
    processing_days: int = DEFAULT_PROCESSING_DAYS,
    source: str | None = "seed 001: application time 10-30 days",
) -> Deadline:
    """The processing watch of one application: overdue ``processing_days`` after submission.

    Its id is derived from the application, so the lifecycle (on submission) and the
    scheduler's daily sweep can both open it and only one survives.
    """
    return Deadline(
        _id=f"dl_processing_{application_id}",
        kind="processing",
        subject=application_id,
        application_id=application_id,
        due_at=submitted_at + timedelta(days=processing_days),
        opened_at=opened_at,
        source=source,
    )


def reminder_documents(deadline: Deadline) -> list[dict[str, Any]]:
    """The pending reminder documents of ``deadline`` (pure)."""
    return [
        {
            "_id": reminder_id(deadline.id, p.point),
            "deadline_id": deadline.id,
            "kind": deadline.kind,
            "subject": deadline.subject,
            "point": p.point,
            "event_type": p.event_type,
            "fire_at": p.fire_at,
            "status": "pending",
            "lease_until": None,
        }
        for p in reminder_points(deadline)
    ]
