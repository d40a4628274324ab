"""Deadlines and their reminder points: the contract between lifecycle and scheduler.

The lifecycle (validator, imports) opens and closes deadlines; the scheduler emits their
reminder points. A deadline document lives in ``deadlines``; each reminder point is a
document in ``reminders`` with the unique id ``"{deadline_id}:{point}"``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.models import Record

DeadlineKind = Literal["renewal", "additional_materials", "rectification", "processing"]

DEFAULT_OFFSETS_DAYS: dict[str, list[int]] = {
    "renewal": [180, 120, 90, 60, 30, 14, 7, 1],
    "additional_materials": [14, 7, 3, 1],
    "rectification": [14, 7, 3, 1],
    "processing": [],
}


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


class ReminderPoint(BaseModel):
    point: str  # "T-14d", "due", "expired"
    event_type: str
    fire_at: datetime


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


async def open_deadline(
    db: AsyncDatabase, deadline: Deadline, session: AsyncClientSession | None = None
) -> None:
    """Insert ``deadline`` and its pending reminder points (call inside the transaction)."""
    await db["deadlines"].insert_one(deadline.to_mongo(), session=session)
    reminders: list[dict[str, Any]] = [
        {
            "_id": f"{deadline.id}:{p.point}",
            "deadline_id": deadline.id,
            "point": p.point,
            "event_type": p.event_type,
            "fire_at": p.fire_at,
            "status": "pending",
            "lease_until": None,
        }
        for p in reminder_points(deadline)
    ]
    if reminders:
        await db["reminders"].insert_many(reminders, session=session)


async def close_deadline(
    db: AsyncDatabase,
    deadline_id: str,
    reason: str,
    now: datetime,
    session: AsyncClientSession | None = None,
) -> None:
    """Close an open deadline and cancel its pending reminders."""
    await db["deadlines"].update_one(
        {"_id": deadline_id, "status": "open"},
        {"$set": {"status": "closed", "closed_at": now, "closed_reason": reason}},
        session=session,
    )
    await db["reminders"].update_many(
        {"deadline_id": deadline_id, "status": "pending"},
        {"$set": {"status": "cancelled", "cancelled_reason": reason}},
        session=session,
    )
