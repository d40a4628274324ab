"""The event a reminder point becomes (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.app.reminder_subjects import ReminderSubject
from shared.domain.deadlines import Deadline, days_left, last_day
from shared.domain.events import CloudEvent, DeadlineEvent, new_event

REMINDER_EVENT_PREFIX = "reminder:"


def reminder_event_id(reminder_id: str) -> str:
    """Deterministic: the outbox and every consumer see one id per reminder point."""
    return f"{REMINDER_EVENT_PREFIX}{reminder_id}"


def reminder_event(
    deadline: Deadline,
    reminder: dict[str, Any],
    subject: ReminderSubject,
    *,
    now: datetime,
    service: str,
    application_status: str | None = None,
) -> CloudEvent:
    """The ``deadline.*`` / ``registration.expired`` event of one reminder point."""
    due_at = deadline.due_at
    payload = DeadlineEvent(
        deadline_id=deadline.id,
        reminder_id=reminder["_id"],
        kind=deadline.kind,
        subject=deadline.subject,
        application_id=deadline.application_id,
        registration_number=subject.registration_number,
        exporter_name=subject.exporter_name,
        category=subject.category,
        product=subject.product,
        contact_emails=subject.contact_emails,
        due_at=due_at,
        due_on=last_day(due_at),
        days_left=days_left(due_at, now),
        missing=subject.missing,
        point=reminder["point"],
        expires_at=deadline.expires_at,
        valid_until=last_day(deadline.expires_at) if deadline.expires_at else None,
        opens_on=deadline.first_day,
        renewal_documents=deadline.renewal_documents,
        renewable=deadline.renewable,
        not_renewable_reason=deadline.not_renewable_reason,
        not_renewable_from=deadline.not_renewable_from,
        application_status=application_status,
    )
    event_id = reminder_event_id(reminder["_id"])
    return new_event(
        reminder["event_type"],
        payload,
        service=service,
        time=now,
        subject=deadline.subject,
        event_id=event_id,
        correlation_id=event_id,
    )
