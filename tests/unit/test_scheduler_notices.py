"""The event a reminder point becomes: deterministic id, days left, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.scheduler.notices import reminder_event
from shared.app.reminder_subjects import ReminderSubject
from shared.domain.deadlines import Deadline, last_day, reminder_documents
from shared.domain.events import DeadlineEvent

NOW = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)
DEADLINE = Deadline(
    _id="dl_r",
    kind="renewal",
    subject="REG-1",
    due_at=NOW + timedelta(days=14),
    expires_at=NOW + timedelta(days=104),
    opened_at=NOW,
    reminder_offsets_days=[14],
)
SUBJECT = ReminderSubject(
    exporter_name="Fjord Dairy AS",
    product="Cheese",
    registration_number="REG-1",
    contact_emails=["a@fjord.example"],
    missing=["Renewal application form"],
)


def point(name: str) -> dict:
    return next(d for d in reminder_documents(DEADLINE) if d["point"] == name)


def test_reminder_event_id_is_derived_from_the_reminder() -> None:
    first = reminder_event(DEADLINE, point("T-14d"), SUBJECT, now=NOW, service="scheduler")
    again = reminder_event(
        DEADLINE, point("T-14d"), SUBJECT, now=NOW + timedelta(minutes=1), service="scheduler"
    )
    assert first.id == again.id == "reminder:dl_r:T-14d"
    assert first.type == "deadline.renewal_due"


def test_renewal_reminder_carries_subject_days_left_and_missing_items() -> None:
    event = reminder_event(
        DEADLINE, point("T-14d"), SUBJECT, now=NOW + timedelta(seconds=20), service="scheduler"
    )
    data = DeadlineEvent.model_validate(event.data)
    assert data.days_left == 14
    assert data.due_at == DEADLINE.due_at
    assert data.missing == ["Renewal application form"]
    assert (data.exporter_name, data.product, data.point) == ("Fjord Dairy AS", "Cheese", "T-14d")
    assert data.contact_emails == ["a@fjord.example"]


def test_expiry_point_is_dated_at_the_terms_last_day() -> None:
    expiry = DEADLINE.model_copy(
        update={
            "id": "dl_e",
            "kind": "expiry",
            "due_at": DEADLINE.expires_at,
            "reminder_offsets_days": [],
        }
    )
    [expired] = reminder_documents(expiry)
    event = reminder_event(expiry, expired, SUBJECT, now=DEADLINE.expires_at, service="scheduler")
    data = DeadlineEvent.model_validate(event.data)
    assert event.type == "registration.expired"
    assert data.due_at == DEADLINE.expires_at
    assert data.valid_until == data.due_on == last_day(DEADLINE.expires_at)
    assert data.days_left == 0
