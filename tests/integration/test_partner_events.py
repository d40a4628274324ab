"""Each partner's own events queue, routed by RabbitMQ on the header the outbox relay sets:
a partner gets exactly the events about its documents, applications, registrations and
deadlines, never another partner's, may read only its own queue, and loses it when revoked."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiormq.exceptions
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.app.onboarding import offboard_partner
from shared.domain.models import new_id
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from shared.infra.topology import PARTNER_HEADER
from tests.factories import make_application
from tests.integration.partner_support import (
    PartnerQueue,
    about,
    deadline_event,
    stage_and_relay,
    submit,
)
from tests.support import EventTap, drain_dead_letters, sample_pdf, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")
REFUSED = (aiormq.exceptions.ChannelAccessRefused, aiormq.exceptions.ChannelNotFoundEntity)


async def registration(db: AsyncDatabase, application_id: str | None) -> str:
    number = f"REG{uuid.uuid4().hex[:8].upper()}"
    term = {"issued_on": datetime(2024, 1, 1, tzinfo=UTC), "application_id": application_id}
    await db["registrations"].insert_one(
        {"_id": new_id("reg"), "number": number, "application_id": application_id, "terms": [term]}
    )
    return number


async def test_each_partner_receives_exactly_its_documents_and_deadlines(
    services: list[ServiceContext], onboard: Any, settings: Settings, db: AsyncDatabase
) -> None:
    intake = services[0]
    a, b = await onboard("Partner A"), await onboard("Partner B")
    app_a, app_b = (
        await make_application(db, a.partner_id),
        await make_application(db, b.partner_id),
    )
    reg_a, reg_ops = await registration(db, app_a), await registration(db, None)
    queue_a, queue_b = PartnerQueue(settings, a), PartnerQueue(settings, b)
    async with EventTap(settings.amqp_url) as tap:
        for partner, application_id in ((a, app_a), (b, app_b)):
            await submit(settings, partner, application_id, sample_pdf(f"{uuid.uuid4()}"))
            await submit(settings, partner, application_id, b"not a pdf at all")
        await stage_and_relay(
            intake, deadline_event("additional_materials", subject=app_a, application_id=app_a)
        )
        for number in (reg_a, reg_ops):
            await stage_and_relay(
                intake, deadline_event("renewal", subject=number, registration_number=number)
            )
        for application_id in (app_a, app_b):
            await tap.wait_for("application.validated", application_id=application_id)
            await tap.wait_for("document.rejected", application_id=application_id)
        expected_a = about(tap.events, app_a, {reg_a})
        expected_b = about(tap.events, app_b, set())
        await wait_until(lambda: _equal(queue_a.ids(), expected_a), message=lambda: "A's queue")
        await wait_until(lambda: _equal(queue_b.ids(), expected_b), message=lambda: "B's queue")
    types_a = {e["type"] for e in await queue_a.read()}
    assert {"document.received", "document.rejected", "application.validated"} <= types_a
    assert {"deadline.additional_materials_due", "deadline.renewal_due"} <= types_a
    # The same CloudEvent as on regwatch.events, its id as the message id, sent once.
    published = {e["id"]: e for e in tap.events}
    for message in queue_a.messages:
        event = json.loads(message.body)
        assert message.message_id == event["id"]
        assert published[event["id"]] == event
        assert (message.headers or {}).get(PARTNER_HEADER) == a.partner_id
    assert len(queue_a.messages) == len(expected_a)
    ops_deadline = about(tap.events, "-", {reg_ops})
    assert len(ops_deadline) == 1
    assert not ops_deadline & (await queue_a.ids() | await queue_b.ids())


async def _equal(ids: Awaitable[set[str]], expected: set[str]) -> bool:
    return await ids == expected


async def test_a_partner_cannot_read_another_partners_queue_nor_delete_its_own(
    services: list[ServiceContext], onboard: Any, settings: Settings
) -> None:
    a, b = await onboard("Reader A"), await onboard("Reader B")
    connection = await aio_pika.connect(a.amqp_url(settings.amqp_url))
    async with connection:
        channel = await connection.channel()
        other = await channel.get_queue(b.events_queue, ensure=False)  # no round trip
        with pytest.raises(REFUSED) as caught:
            await other.get(fail=False)
        assert "ACCESS_REFUSED" in str(caught.value)
    connection = await aio_pika.connect(a.amqp_url(settings.amqp_url))
    async with connection:
        channel = await connection.channel()
        with pytest.raises(REFUSED) as caught:
            await channel.queue_delete(a.events_queue)
        assert "ACCESS_REFUSED" in str(caught.value)


async def test_revoking_a_partner_removes_its_events_queue(
    services: list[ServiceContext], onboard: Any, settings: Settings, db: AsyncDatabase
) -> None:
    partner = await onboard("Leaving with its queue")
    await offboard_partner(
        db=db, settings=settings, partner_id=partner.partner_id, now=datetime.now(UTC)
    )
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity):
            await channel.declare_queue(partner.events_queue, passive=True)


async def test_an_absent_partners_oldest_events_overflow_to_the_dead_letters(
    services: list[ServiceContext], onboard: Any, settings: Settings, db: AsyncDatabase
) -> None:
    small = settings.model_copy(update={"partner_events_max_length": 2})
    partner = await onboard("Absent partner", small)
    application_id = await make_application(db, partner.partner_id)
    events = [
        deadline_event("rectification", subject=application_id, application_id=application_id)
        for _ in range(3)
    ]
    for event in events:
        await stage_and_relay(services[0], event)
    letters: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def oldest_dead_lettered() -> bool:
        letters.extend(await drain_dead_letters(settings.amqp_url))
        return events[0].id in {m.message_id for m in letters}

    await wait_until(oldest_dead_lettered)
    assert await PartnerQueue(settings, partner).ids() == {events[1].id, events[2].id}
