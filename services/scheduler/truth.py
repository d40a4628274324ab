"""The truth rule for each reminder: a notice is sent only while it is true (pure).

Decided per reminder, on the facts read for its whole batch (``facts.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.scheduler.facts import BatchFacts
from shared.domain.deadlines import STRUCTURAL_POINTS, WITH_THE_AUTHORITY, Deadline
from shared.domain.registration import REMINDED


def why_not_sent(
    deadline: Deadline, reminder: dict[str, Any], facts: BatchFacts, now: datetime
) -> str | None:
    """The reason to skip this point, or None to emit it."""
    if reminder["point"] not in STRUCTURAL_POINTS:
        later = facts.later_due_point(reminder)
        if later is not None:
            return (
                f"superseded by {later}, also due by {facts.due_by.isoformat()}: "
                "after a gap only the most recent point of a deadline is sent"
            )
    if deadline.kind in ("renewal", "expiry"):
        return why_not_told(deadline, reminder, facts, now)
    if deadline.kind == "processing" and deadline.application_id:
        status = facts.applications.get(deadline.application_id, {}).get("status")
        if status not in WITH_THE_AUTHORITY:
            return f"the authority has acted: the application is {status or 'gone'}"
    return None


def why_not_told(
    deadline: Deadline, reminder: dict[str, Any], facts: BatchFacts, now: datetime
) -> str | None:
    """A registration's notice is sent only while it is true for that registration."""
    registration = (
        facts.registrations_by_id.get(deadline.registration_id)
        if deadline.registration_id
        else None
    )
    if registration is None:
        return None  # a deadline opened without a registration record (older data)
    status = registration.get("status", "active")
    point = reminder["point"]
    if point in ("opens", "expired"):
        return None  # the registration's own moves: the move itself checks them
    if status not in REMINDED:
        return f"the registration is {status}"
    if point == "opens-notice" and deadline.opens_at and now >= deadline.opens_at:
        return "the renewal window is already open"
    waiting = facts.waiting.get(registration.get("number") or "")
    if waiting is not None:
        return f"renewal application {waiting} is waiting for the window to open"
    return None
