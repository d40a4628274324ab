"""A poison message with the services running as processes: an event the validator can
never handle (its application record is corrupt) is dead-lettered after the delivery limit,
with its reason, and the documents behind it keep flowing."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import aio_pika
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.domain.events import DocumentReceived, new_event
from shared.infra.settings import Settings
from shared.infra.topology import (
    EVENTS_EXCHANGE,
    INTAKE_DOCUMENTS,
    VALIDATOR_EVENTS,
)
from tests.faults.stream import (
    ResilientPartner,
    new_application,
    start_services,
    wait_consuming,
    wait_stored,
)
from tests.support import drain_dead_letters, wait_until

pytestmark = pytest.mark.faults


async def publish_received_for(amqp_url: str, application_id: str) -> str:
    now = datetime.now(UTC)
    event = new_event(
        "document.received",
        DocumentReceived(
            document_id=f"doc_{uuid.uuid4().hex}",
            application_id=application_id,
            partner_id="ptn_unknown",
            document_type="application_form",
            filename="form.pdf",
            content_type="application/pdf",
            size=10,
            sha256="0" * 64,
            received_at=now,
        ),
        service="test",
        time=now,
        subject=application_id,
    )
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE.name)
        await exchange.publish(
            aio_pika.Message(event.model_dump_json().encode(), message_id=event.id),
            routing_key=event.type,
        )
    return event.id


@pytest.mark.asyncio
async def test_poison_event_is_dead_lettered_and_the_stream_keeps_flowing(
    fault_settings: Settings, fault_db: AsyncDatabase
) -> None:
    services = start_services(fault_settings, ["intake", "validator"])
    try:
        await asyncio.to_thread(
            wait_consuming, fault_settings, "/", [INTAKE_DOCUMENTS.name, VALIDATOR_EVENTS.name]
        )
        corrupt_id = f"app_{uuid.uuid4().hex}"
        # A record no code path can make sense of: every delivery of its event fails.
        await fault_db["applications"].insert_one(
            {
                "_id": corrupt_id,
                "partner_id": 42,
                "exporter": "not an exporter",
                "category": ["x"],
                "kind": 7,
            }
        )
        poison_id = await publish_received_for(fault_settings.amqp_url, corrupt_id)

        application_id = await new_application(fault_db)
        async with ResilientPartner(fault_settings.amqp_url) as partner:
            for index in range(5):
                await partner.submit(application_id, index)
        await wait_stored(fault_db, application_id, 5)

        async def validated() -> bool:
            return (
                await fault_db["validation_results"].count_documents(
                    {"application_id": application_id}
                )
                > 0
            )

        await wait_until(validated, timeout=60)
        collected: list[aio_pika.abc.AbstractIncomingMessage] = []

        async def dead_lettered() -> bool:
            collected.extend(await drain_dead_letters(fault_settings.amqp_url))
            return any(m.message_id == poison_id for m in collected)

        await wait_until(dead_lettered, timeout=60, interval=0.5)
        poison = next(m for m in collected if m.message_id == poison_id)
        assert poison.headers["x-first-death-queue"] == VALIDATOR_EVENTS.name
        assert poison.headers["x-first-death-reason"]  # the validator's error, for ops
        assert json.loads(poison.body)["id"] == poison_id
        assert all(s.alive() for s in services)
    finally:
        for service in services:
            service.stop()
