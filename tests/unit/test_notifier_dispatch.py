"""Which events the notifier turns into notices, and what it does with one it cannot tell."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from services.notifier.handlers import ROUTES, notice_for
from shared.domain.events import PAYLOADS, CloudEvent
from shared.infra.consuming import GiveUp

NOW = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)
# Only the settings and the clock are read for deadline and registration events (the day
# decides the wording): no server needed.
CTX: Any = SimpleNamespace(
    settings=SimpleNamespace(ops_email="ops@example.org", catalog_dir=None),
    clock=SimpleNamespace(now=lambda: NOW),
)


def event(event_type: str, **data: Any) -> CloudEvent:
    return CloudEvent(source="urn:regwatch:test", type=event_type, time=NOW, data=data)


def test_every_deadline_and_registration_event_has_a_notice() -> None:
    heard = {t for t in PAYLOADS if t.startswith(("deadline.", "registration."))}
    assert heard <= set(ROUTES)


@pytest.mark.asyncio
async def test_events_the_notifier_does_not_tell_give_no_notice() -> None:
    assert await notice_for(CTX, event("application.validated", application_id="a")) is None


@pytest.mark.asyncio
async def test_payload_that_does_not_validate_is_dead_lettered_at_once() -> None:
    with pytest.raises(GiveUp, match="deadline.renewal_due"):
        await notice_for(CTX, event("deadline.renewal_due", kind="renewal"))


@pytest.mark.asyncio
async def test_opening_notice_without_its_opening_day_is_dead_lettered_not_sent() -> None:
    data = {
        "deadline_id": "dl_1",
        "reminder_id": "dl_1:opens-notice",
        "kind": "renewal",
        "subject": "CHN-1",
        "due_at": "2031-05-31T16:00:00Z",
        "days_left": 120,
    }
    with pytest.raises(GiveUp, match="opens_on"):
        await notice_for(CTX, event("deadline.renewal_window_opens", **data))
