"""Which events reach partners' queues, and on which header."""

from __future__ import annotations

import pytest

from shared.domain.events import PAYLOADS
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
