"""Deadlines and their reminder points: the contract between lifecycle and scheduler.

The lifecycle (validator, imports) opens and closes deadlines (``shared.infra.deadline_store``);
the scheduler emits their reminder points. A deadline document lives in ``deadlines``; each
reminder point is a document in ``reminders`` with the unique id ``"{deadline_id}:{point}"``.

Reminder points: ``T-<n>d`` (n days before ``due_at``), ``due`` (the window closes:
``deadline.missed``, or ``deadline.processing_overdue`` for the processing watch) and, for
renewals, ``expired`` (``expires_at``: ``registration.expired``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.domain.calendar import DEFAULT_REMINDER_TIME, at_local_time, authority_date
from shared.domain.models import Record

DeadlineKind = Literal["renewal", "expiry", "additional_materials", "rectification", "processing"]
ReminderStatus = Literal["pending", "claimed", "emitted", "skipped", "cancelled"]
DeadlineStatus = Literal["open", "met", "closed", "missed"]

DEFAULT_OFFSETS_DAYS: dict[str, list[int]] = {
    "renewal": [180, 120, 90, 60, 30, 14, 7, 1],
    "expiry": [90, 30, 7, 1],
    "additional_materials": [14, 7, 3, 1],
    "rectification": [14, 7, 3, 1],
    "processing": [],
}

# Seed 001: "Application time 10-30 days"; past this the authority is overdue.
DEFAULT_PROCESSING_DAYS = 30
# Application statuses in which the authority, not the exporter, has to act.
WITH_THE_AUTHORITY = ("submitted", "under_examination")

# What people call each kind of window, in notices and reasons.
WINDOW_NAMES: dict[str, str] = {
    "renewal": "renewal",
    "additional_materials": "additional materials",
    "rectification": "rectification",
    "processing": "processing",
}

# The event each kind of deadline's "T-<n>d" points become.
DUE_EVENT: dict[str, str] = {
    "renewal": "deadline.renewal_due",
    "expiry": "deadline.expiry_due",
    "additional_materials": "deadline.additional_materials_due",
    "rectification": "deadline.rectification_due",
    "processing": "deadline.processing_overdue",
}


class Deadline(Record):
    kind: DeadlineKind
    subject: str  # the application id, or the registration number for renewals and expiry
    application_id: str | None = None
    registration_id: str | None = None
    due_at: datetime  # when the window closes (24:00 Beijing time on its last day)
    opens_at: datetime | None = None  # renewals: when the window opens (None: open already)
    opening_notice_days: int | None = None  # renewals: one notice this long before opening
    expires_at: datetime | None = None  # renewals and expiry: when the term itself ends
    opened_at: datetime
    status: DeadlineStatus = "open"
    reminder_offsets_days: list[int] = Field(default_factory=list)
    reminder_time: str = Field(
        default=DEFAULT_REMINDER_TIME.strftime("%H:%M"), pattern=r"^\d{2}:\d{2}$"
    )
    # (Beijing time at which reminders fire; stored as text, BSON has no time of day)
    on_missed: str | None = None  # the lifecycle status the catalog names for a missed window
    source: str | None = None  # the catalog rule that set this window
    closed_at: datetime | None = None
    closed_reason: str | None = None
    # Renewals: what the exporter will need; expiry: why no renewal is possible.
    renewal_documents: list[str] = Field(default_factory=list)
    renewable: bool = True
    not_renewable_reason: str | None = None
    not_renewable_from: date | None = None
    # Optional snapshot of who is reminded; the scheduler falls back to the application or
    # registration document when these are not given.
    registration_number: str | None = None
    exporter_name: str | None = None
    product: str | None = None
    contact_emails: list[str] = Field(default_factory=list)

    @property
    def last_day(self) -> date:
        """The last day of the window in Beijing (``due_at`` is 24:00 on it)."""
        return last_day(self.due_at)

    @property
    def first_day(self) -> date | None:
        return authority_date(self.opens_at) if self.opens_at else None


# Points that change state (a window opens, closes, a term ends): never skipped after a
# gap, and "opens" sends no email, so it supersedes no notice either.
STRUCTURAL_POINTS = frozenset({"opens", "due", "expired"})


class ReminderPoint(BaseModel):
    point: str  # "opens-notice", "opens", "T-14d", "due", "expired"
    event_type: str
    fire_at: datetime


def reminder_id(deadline_id: str, point: str) -> str:
    """The unique id of one reminder point of a deadline."""
    return f"{deadline_id}:{point}"


def last_day(due_at: datetime) -> date:
    """The authority's day that a window ending at ``due_at`` ends on."""
    return authority_date(due_at - timedelta(microseconds=1))


def reminder_points(deadline: Deadline) -> list[ReminderPoint]:
    """Every reminder point of ``deadline``, earliest first (pure).

    ``T-<n>d`` fires at the reminder time (Beijing) n days before the window's last day,
    never before the window opens; a renewal window that opens later gets one notice
    ``opening_notice_days`` before it opens. ``due`` fires when the window has closed
    (``deadline.missed``; for the processing watch ``deadline.processing_overdue``); the
    expiry deadline's ``expired`` fires when the term has ended (``registration.expired``).
    """
    due_type = DUE_EVENT[deadline.kind]
    end = deadline.last_day
    first = deadline.first_day
    points = []
    for days in sorted(set(deadline.reminder_offsets_days), reverse=True):
        day = end - timedelta(days=days)
        if first is not None and day < first:
            continue  # nothing asks for a filing before the window opens
        points.append(
            ReminderPoint(
                point=f"T-{days}d",
                event_type=due_type,
                fire_at=at_local_time(day, time.fromisoformat(deadline.reminder_time)),
            )
        )
    if deadline.kind == "renewal" and deadline.opens_at is not None:
        # Not a notice: the registration's window opens (the scheduler moves it).
        points.append(
            ReminderPoint(
                point="opens", event_type="registration.status_changed", fire_at=deadline.opens_at
            )
        )
    if first is not None and deadline.opening_notice_days:
        day = first - timedelta(days=deadline.opening_notice_days)
        points.append(
            ReminderPoint(
                point="opens-notice",
                event_type="deadline.renewal_window_opens",
                fire_at=at_local_time(day, time.fromisoformat(deadline.reminder_time)),
            )
        )
    if deadline.kind == "processing":
        points.append(ReminderPoint(point="due", event_type=due_type, fire_at=deadline.due_at))
    elif deadline.kind == "expiry":
        points.append(
            ReminderPoint(
                point="expired", event_type="registration.expired", fire_at=deadline.due_at
            )
        )
    else:
        points.append(
            ReminderPoint(point="due", event_type="deadline.missed", fire_at=deadline.due_at)
        )
    return sorted(points, key=lambda p: p.fire_at)


def days_left(due_at: datetime, now: datetime) -> int:
    """Whole Beijing days from today until the window's last day (0 on it and after).

    Counted in the authority's days, so a reminder fired at 09:00 fourteen days before the
    last day says 14, whatever the hour.
    """
    return max(0, (last_day(due_at) - authority_date(now)).days)


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
