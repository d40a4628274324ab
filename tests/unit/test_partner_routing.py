"""Which events reach partners' queues, on which header, and the partner a writer reads
from the application or registration it has in hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.domain.events import PAYLOADS, NotificationSent, new_event
from shared.infra.outbox import carried_partner, outbox_entry
from shared.infra.partner_routing import (
    UNKNOWN,
    application_partner_of,
    registration_partner_of,
)
from shared.infra.topology import is_partner_event

PARTNER_TYPES = [
    t for t in PAYLOADS if t.startswith(("document.", "deadline.", "registration."))
] + ["application.validated", "application.status_changed"]


@pytest.mark.parametrize("event_type", PARTNER_TYPES)
def test_partner_events_are_the_documents_applications_registrations_and_deadlines(
    event_type: str,
) -> None:
    assert is_partner_event(event_type)


@pytest.mark.parametrize(
    "event_type",
    [
        "notification.sent",
        "notification.failed",
        "application.decision",
        "deadline",
        "x.deadline.y",
    ],
)
def test_ops_and_delivery_events_reach_no_partner(event_type: str) -> None:
    assert not is_partner_event(event_type)


def term(application_id: str | None, **partner: str | None) -> dict[str, Any]:
    return {"application_id": application_id, **partner}


@pytest.mark.parametrize(
    ("registration", "partner"),
    [
        # Certified for A's application, renewed by B's: the newest term's partner.
        (
            {
                "application_id": "a1",
                "terms": [term("a1", partner_id="A"), term("b1", partner_id="B")],
            },
            "B",
        ),
        # The newest term's application has no partner: the one before, as the lookup does.
        (
            {
                "application_id": "a1",
                "terms": [term("a1", partner_id="A"), term("o1", partner_id=None)],
            },
            "A",
        ),
        # Imported by ops: no application, no partner.
        ({"application_id": None, "terms": [term(None, partner_id=None)]}, None),
        # Imported, then renewed by B's application.
        ({"application_id": None, "terms": [term(None), term("b1", partner_id="B")]}, "B"),
        # An older document without terms and without an application: nobody's.
        ({"application_id": None}, None),
    ],
)
def test_a_registrations_partner_is_read_from_the_partners_its_terms_record(
    registration: dict[str, Any], partner: str | None
) -> None:
    assert registration_partner_of(registration) == partner


@pytest.mark.parametrize(
    "registration",
    [
        # A term started before terms recorded their partner.
        {"application_id": "a1", "terms": [term("a1")]},
        {"application_id": "a1", "terms": [term("a1"), term("b1", partner_id=None)]},
        # An older document without terms: only its application names the partner.
        {"application_id": "a1"},
        # Read without the fields that name it.
        {"_id": "reg_1", "number": "CHN1"},
    ],
)
def test_a_registration_without_recorded_partners_leaves_the_partner_to_the_lookup(
    registration: dict[str, Any],
) -> None:
    assert registration_partner_of(registration) is UNKNOWN


@pytest.mark.parametrize(
    ("application", "partner"),
    [({"partner_id": "A"}, "A"), ({"partner_id": None}, None), ({"partner_id": ""}, None)],
)
def test_an_applications_partner_is_its_partner_id(
    application: dict[str, Any], partner: str | None
) -> None:
    assert application_partner_of(application) == partner
    assert application_partner_of({"_id": "app_1"}) is UNKNOWN


def test_an_outbox_entry_carries_the_partner_it_was_staged_with() -> None:
    now = datetime(2031, 1, 1, tzinfo=UTC)
    payload = NotificationSent(event_id="e", event_type="t", recipient="r@example.org", subject="s")
    event = new_event("notification.sent", payload, service="test", time=now)
    assert carried_partner(outbox_entry(event, now)) is UNKNOWN
    assert "partner_id" not in outbox_entry(event, now)
    assert carried_partner(outbox_entry(event, now, None)) is None
    assert carried_partner(outbox_entry(event, now, "ptn_1")) == "ptn_1"
