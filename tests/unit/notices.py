"""Notices built as the notifier builds them, for the tests of what emails say."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.notifier.deadline_notices import deadline_notice
from services.notifier.notices import Notice, RegimeEnded
from services.notifier.registration_notices import registration_notice
from shared.domain.events import DeadlineEvent, RegistrationStatusChanged

NOW = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)
OPS = "ops@example.org"
# A window whose last day is 31 May 2027 ends at 24:00 Beijing time, 16:00 UTC on that day.
CLOSES = datetime(2027, 5, 31, 16, 0, tzinfo=UTC)


def deadline(event_type: str, ended: RegimeEnded | None = None, **fields: Any) -> Notice:
    """The notice of a deadline event; ``ended``: the regime ended before the day it is made."""
    values: dict[str, Any] = {
        "deadline_id": "dl_1",
        "reminder_id": "dl_1:T-7d",
        "kind": "rectification",
        "subject": "app_1",
        "application_id": "app_1",
        "exporter_name": "Nordic Scrap AB",
        "product": "Copper scrap",
        "contact_emails": ["a@nordic.example", "b@nordic.example", "a@nordic.example"],
        "due_at": NOW + timedelta(days=7),
        "days_left": 7,
        "missing": ["11 facility photos required, 8 received"],
    }
    values.update(fields)
    return deadline_notice(event_type, DeadlineEvent(**values), OPS, ended)


def renewal(event_type: str, **fields: Any) -> Notice:
    values: dict[str, Any] = {
        "kind": "renewal",
        "subject": "CHN-DAIRY-0042",
        "application_id": None,
        "registration_number": "CHN-DAIRY-0042",
        "exporter_name": "Fjord Dairy AS",
        "product": "Cheese",
        "due_at": CLOSES,
        "due_on": date(2027, 5, 31),
        "opens_on": date(2027, 3, 1),
        "valid_until": date(2027, 8, 31),
        "missing": [],
        "renewal_documents": ["Application form for renewal", "Declaration of compliance"],
    }
    values.update(fields)
    return deadline(event_type, **values)


def registration(trigger: str, to_status: str, **fields: Any) -> Notice | None:
    values: dict[str, Any] = {
        "registration_id": "reg_1",
        "registration_number": "CHN-DAIRY-0042",
        "from_status": "renewal_filed",
        "to_status": to_status,
        "trigger": trigger,
        "actor": "ops",
        "at": NOW,
        "application_id": "app_r",
        "category": "food.dairy",
        "product": "Cheese",
        "exporter_name": "Fjord Dairy AS",
        "contact_emails": ["c@fjord.example", "c@fjord.example"],
        "valid_until": date(2027, 8, 31),
        "window_opens_on": date(2027, 3, 1),
        "window_closes_on": date(2027, 5, 31),
    }
    values.update(fields)
    return registration_notice(RegistrationStatusChanged(**values))
