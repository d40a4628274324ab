"""Decisions as ``application.decision`` events on the broker, consumed by the validator."""

from __future__ import annotations

from datetime import UTC, datetime

import aio_pika
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.domain.events import ApplicationDecision, new_event
from shared.domain.models import new_id
from shared.infra.settings import Settings
from shared.infra.topology import EVENTS_EXCHANGE
from tests.integration.lifecycle_support import (
    Lifecycle,
    food_other_complete,
    wait_for_result_caused_by,
    wait_for_status,
)
from tests.support import EventTap, wait_until


async def publish_decision(settings: Settings, decision: ApplicationDecision) -> str:
    """What an ops tool does: one CloudEvent on ``regwatch.events``."""
    event = new_event(
        "application.decision",
        decision,
        service="ops-tool",
        time=datetime.now(UTC),
        subject=decision.application_id,
    )
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE.name)
        message = aio_pika.Message(
            event.model_dump_json().encode(),
            message_id=event.id,
            content_type="application/cloudevents+json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        for _ in range(2):  # a duplicate delivery, as after a publisher retry
            await exchange.publish(message, routing_key="application.decision")
    return event.id


@pytest.mark.asyncio
async def test_decision_event_moves_the_application_once_and_revalidates(
    settings: Settings, db: AsyncDatabase, lifecycle: Lifecycle
) -> None:
    application_id = await food_other_complete(lifecycle.ops, db)
    decision = ApplicationDecision(
        decision_id=new_id("dec"),
        application_id=application_id,
        kind="non_acceptance_notice",
        actor="ops:li.wei",
        reason="the applicant is not the manufacturer",
    )
    async with EventTap(settings.amqp_url) as tap:
        event_id = await publish_decision(settings, decision)
        application = await wait_for_status(db, application_id, "not_accepted")
        changed = await tap.wait_for(
            "application.status_changed", application_id=application_id, to_status="not_accepted"
        )
    assert changed[0]["causationid"] == event_id
    assert changed[0]["data"]["actor"] == "ops:li.wei"
    last = application["history"][-1]
    assert (last["from_status"], last["to_status"], last["trigger"]) == (
        "under_examination",
        "not_accepted",
        "non_acceptance_notice",
    )
    assert last["reason"] == "the applicant is not the manufacturer"
    result = await wait_for_result_caused_by(db, application_id, event_id)
    assert result["status"] == "not_accepted"
    # The duplicate delivery was recognised: one history line, one decision record.
    await wait_until(lambda: _inbox_count(db, event_id))
    assert len(application["history"]) == 2
    assert await db["decisions"].count_documents({"_id": decision.decision_id}) == 1


async def _inbox_count(db: AsyncDatabase, event_id: str) -> bool:
    return await db["inbox"].count_documents({"event_id": event_id}) == 1


@pytest.mark.asyncio
async def test_illegal_decision_event_is_kept_with_its_reason_and_changes_nothing(
    settings: Settings, db: AsyncDatabase, lifecycle: Lifecycle
) -> None:
    application_id = await food_other_complete(lifecycle.ops, db)
    decision = ApplicationDecision(
        decision_id=new_id("dec"), application_id=application_id, kind="failure_notice"
    )
    await publish_decision(settings, decision)

    async def refused() -> bool:
        stored = await db["decisions"].find_one({"_id": decision.decision_id})
        return bool(stored and stored.get("refused"))

    await wait_until(refused)
    stored = await db["decisions"].find_one({"_id": decision.decision_id})
    assert stored is not None
    assert (
        "'failure_notice' cannot be applied to an application in status 'under_examination'"
        in (stored["refused"])
    )
    application = await db["applications"].find_one({"_id": application_id})
    assert application is not None
    assert application["status"] == "under_examination"
