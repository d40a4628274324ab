"""Each partner's own events queue, routed by RabbitMQ on the header the outbox relay sets:
a partner gets exactly the events about its documents, applications, registrations and
deadlines, never another partner's, may read only its own queue, and loses it when revoked."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import aiormq.exceptions
import httpx
import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from shared.app.onboarding import offboard_partner
from shared.domain.models import new_id
from shared.infra.broker_policies import apply_partner_events_policy, vhost_of
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from shared.infra.topology import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_POLICY_NAME,
    DEAD_LETTER_QUEUE_NAME,
    EVENTS_EXCHANGE,
    PARTNER_EVENTS_POLICY_NAME,
    PARTNER_HEADER,
)
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


async def test_services_bound_every_partner_events_queue_with_a_policy(
    services: list[ServiceContext], settings: Settings
) -> None:
    vhost = quote(vhost_of(settings.amqp_url), safe="")
    async with httpx.AsyncClient(auth=("guest", "guest")) as client:
        response = await client.get(
            f"{settings.rabbitmq_management_url}/api/policies/{vhost}/{PARTNER_EVENTS_POLICY_NAME}"
        )
    assert response.status_code == 200
    policy = response.json()
    assert policy["pattern"] == r"^partner\..+\.events$"
    assert policy["definition"]["max-length"] == settings.partner_events_max_length
    assert policy["definition"]["overflow"] == "drop-head"


async def test_services_give_the_dead_letter_queue_its_explicit_delivery_limit(
    services: list[ServiceContext], settings: Settings
) -> None:
    vhost = quote(vhost_of(settings.amqp_url), safe="")
    api = f"{settings.rabbitmq_management_url}/api"
    async with httpx.AsyncClient(auth=("guest", "guest")) as client:
        policy = (await client.get(f"{api}/policies/{vhost}/{DEAD_LETTER_POLICY_NAME}")).json()
        assert policy["pattern"] == r"^regwatch\.dead_letters$"
        assert policy["definition"] == {"delivery-limit": 1_000_000}

        async def applied() -> bool:  # the management API refreshes queue figures lazily
            queue = await client.get(f"{api}/queues/{vhost}/{DEAD_LETTER_QUEUE_NAME}")
            return bool(queue.json().get("policy") == DEAD_LETTER_POLICY_NAME)

        await wait_until(applied, timeout=30, interval=1)


@pytest_asyncio.fixture
async def vhost(settings: Settings) -> AsyncIterator[Settings]:
    """A vhost of its own, so that bounds set here reach no other test's partner queues."""
    name = f"regwatch-test-{uuid.uuid4().hex[:8]}"
    api = f"{settings.rabbitmq_management_url}/api"
    async with httpx.AsyncClient(auth=("guest", "guest")) as client:
        (await client.put(f"{api}/vhosts/{name}")).raise_for_status()
        permissions = {"configure": ".*", "write": ".*", "read": ".*"}
        (await client.put(f"{api}/permissions/{name}/guest", json=permissions)).raise_for_status()
        yield settings.model_copy(
            update={"amqp_url": urlunsplit(urlsplit(settings.amqp_url)._replace(path=f"/{name}"))}
        )
        await client.delete(f"{api}/vhosts/{name}")


async def effective_bound(settings: Settings, queue: str) -> tuple[str | None, object]:
    """The policy RabbitMQ applies to ``queue`` and the length bound it gives it."""
    vhost = quote(vhost_of(settings.amqp_url), safe="")
    async with httpx.AsyncClient(auth=("guest", "guest")) as client:
        response = await client.get(
            f"{settings.rabbitmq_management_url}/api/queues/{vhost}/{quote(queue, safe='')}"
        )
    response.raise_for_status()
    found = response.json()
    return found.get("policy"), (found.get("effective_policy_definition") or {}).get("max-length")


async def bound_becomes(settings: Settings, queue: str, max_length: int) -> None:
    """Wait until the management API shows ``queue`` under the partner events policy with
    ``max_length`` (its queue figures are refreshed every few seconds)."""
    wanted = (PARTNER_EVENTS_POLICY_NAME, max_length)
    seen: list[object] = []

    async def shown() -> bool:
        seen.append(await effective_bound(settings, queue))
        return seen[-1] == wanted

    await wait_until(shown, timeout=30, interval=0.5, message=lambda: f"last seen {seen[-1:]}")


async def test_a_changed_bound_reaches_an_existing_queue_and_overflows_to_the_dead_letters(
    onboard: Any, vhost: Settings
) -> None:
    partner = await onboard("Absent partner", vhost)
    connection = await aio_pika.connect(vhost.amqp_url)
    async with connection:
        channel = await connection.channel()
        letters = await channel.declare_queue(
            DEAD_LETTER_QUEUE_NAME, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await letters.bind(DEAD_LETTER_EXCHANGE.name)
    await bound_becomes(vhost, partner.events_queue, vhost.partner_events_max_length)

    # The setting changes after the queue exists: the next start or partner sets it again.
    await apply_partner_events_policy(vhost.model_copy(update={"partner_events_max_length": 2}))
    await bound_becomes(vhost, partner.events_queue, 2)

    ids = [str(uuid.uuid4()) for _ in range(3)]
    connection = await aio_pika.connect(vhost.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        events = await channel.get_exchange(EVENTS_EXCHANGE.name, ensure=False)
        for event_id in ids:
            await events.publish(
                aio_pika.Message(
                    json.dumps({"id": event_id}).encode(),
                    message_id=event_id,
                    headers={PARTNER_HEADER: partner.partner_id},
                ),
                routing_key="deadline.rectification_due",
            )
    dead: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def oldest_dead_lettered() -> bool:
        dead.extend(await drain_dead_letters(vhost.amqp_url))
        return ids[0] in {m.message_id for m in dead}

    await wait_until(oldest_dead_lettered)
    assert await PartnerQueue(vhost, partner).ids() == {ids[1], ids[2]}

    # A raised bound reaches it too (a queue argument would have kept the first one).
    await apply_partner_events_policy(vhost.model_copy(update={"partner_events_max_length": 50}))
    await bound_becomes(vhost, partner.events_queue, 50)
