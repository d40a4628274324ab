"""Consumers dispatch by event type to a handler that receives the typed payload."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from shared.domain.events import ApplicationDecision, CloudEvent, DocumentReceived
from shared.infra.consuming import GiveUp, Route, dispatch

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def event(event_type: str, **data: object) -> CloudEvent:
    return CloudEvent(source="urn:regwatch:test", type=event_type, time=NOW, data=data)


def test_the_handler_of_the_event_type_receives_its_typed_payload() -> None:
    received: list[object] = []

    async def on_decision(envelope: CloudEvent, decision: ApplicationDecision) -> None:
        received.append((envelope.type, decision))

    handle = dispatch({"application.decision": Route(ApplicationDecision, on_decision)})
    decided = event(
        "application.decision", decision_id="dec_1", application_id="app_1", kind="failure_notice"
    )
    asyncio.run(handle(decided))
    [(event_type, decision)] = received
    assert event_type == "application.decision"
    assert isinstance(decision, ApplicationDecision)
    assert decision.application_id == "app_1"


def test_an_event_type_without_a_route_is_ignored() -> None:
    async def never(envelope: CloudEvent, payload: DocumentReceived) -> None:
        raise AssertionError("called")

    handle = dispatch({"document.received": Route(DocumentReceived, never)})
    asyncio.run(handle(event("application.validated", application_id="app_1")))


def test_a_payload_that_does_not_validate_is_given_up_at_once() -> None:
    async def never(envelope: CloudEvent, payload: DocumentReceived) -> None:
        raise AssertionError("called")

    handle = dispatch({"document.received": Route(DocumentReceived, never)})
    with pytest.raises(GiveUp, match="document.received"):
        asyncio.run(handle(event("document.received", application_id="app_1")))
