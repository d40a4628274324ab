"""What the fault tests share: a partner that resends until confirmed, the running services,
and the checks that N in means N stored, none lost, none duplicated."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import aio_pika
from pymongo.asynchronous.database import AsyncDatabase

from shared.infra.db import DOCUMENT_BLOBS_BUCKET
from shared.infra.settings import Settings
from shared.infra.topology import EVENTS_EXCHANGE, INTAKE_EXCHANGE, SUBMIT_ROUTING_KEY
from tests.factories import make_application, make_partner
from tests.processes import ServiceProcess, service_env, wait_for_consumers
from tests.support import sample_pdf, wait_until

TAP_QUEUE = "fault.tap"


class ResilientPartner:
    """A partner system that resends a document until the broker confirms it, as the
    contract asks; resends may duplicate, which intake must absorb."""

    def __init__(self, amqp_url: str) -> None:
        self.amqp_url = amqp_url
        self.connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def __aenter__(self) -> ResilientPartner:
        self.connection = await aio_pika.connect_robust(self.amqp_url, reconnect_interval=0.5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.connection is not None:
            await self.connection.close()

    async def submit(self, application_id: str, index: int, timeout: float = 120) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                assert self.connection is not None
                channel = await self.connection.channel(publisher_confirms=True)
                exchange = await channel.get_exchange(INTAKE_EXCHANGE.name)
                await exchange.publish(document_message(application_id, index), SUBMIT_ROUTING_KEY)
                await channel.close()
                return
            except Exception:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.5)


def document_message(application_id: str, index: int) -> aio_pika.Message:
    return aio_pika.Message(
        sample_pdf(f"{application_id} document {index}"),
        message_id=f"{application_id}-{index}",
        content_type="application/pdf",
        user_id="guest",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        headers={
            "x-application-id": application_id,
            "x-document-type": "facility_photo" if index % 2 else "ccic_certificate",
            "x-filename": f"document-{index}.pdf",
            "x-document-meta": json.dumps({"language": "en"}),
        },
    )


async def declare_tap(amqp_url: str) -> None:
    """A durable queue that keeps every event, so events survive a broker restart."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            EVENTS_EXCHANGE.name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(
            TAP_QUEUE, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.purge()
        await queue.bind(exchange, "#")


async def purge_queues(amqp_url: str, queues: list[str]) -> None:
    """Empty ``queues`` where they exist: what an earlier test left is no one's work now."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        for name in queues:
            channel = await connection.channel()
            try:
                queue = await channel.declare_queue(name, passive=True)
            except aio_pika.exceptions.ChannelClosed:  # not declared yet: nothing to empty
                continue
            await queue.purge()
            await channel.close()


async def drain_tap(amqp_url: str) -> list[dict[str, Any]]:
    events = []
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(TAP_QUEUE)
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            events.append(json.loads(message.body))
    return events


async def new_application(db: AsyncDatabase) -> str:
    partner = await db["partners"].find_one({"amqp_user": "guest"})
    partner_id = partner["_id"] if partner else await make_partner(db, amqp_user="guest")
    return await make_application(db, partner_id, category="scrap.metal", kind="renewal")


def start_services(settings: Settings, names: list[str], **overrides: Any) -> list[ServiceProcess]:
    env = service_env(settings, outbox_lease_seconds=settings.outbox_lease_seconds, **overrides)
    return [ServiceProcess(name, env) for name in names]


def wait_consuming(settings: Settings, vhost: str, queues: list[str], timeout: float = 90) -> None:
    for queue in queues:
        wait_for_consumers(settings.amqp_url, queue, 1, timeout)


async def wait_stored(
    db: AsyncDatabase, application_id: str, count: int, timeout: float = 120
) -> None:
    async def stored() -> bool:
        documents = await db["documents"].count_documents({"application_id": application_id})
        pending = await db["outbox"].count_documents(
            {"subject": application_id, "status": "pending"}
        )
        return documents >= count and pending == 0

    await wait_until(stored, timeout=timeout, interval=0.5)


async def assert_exactly_once(
    db: AsyncDatabase, application_id: str, count: int, events: list[dict[str, Any]]
) -> None:
    """N in: N documents, N blobs, N document.received entries all sent, each event seen."""
    documents = await db["documents"].find({"application_id": application_id}).to_list()
    keys = Counter(d["idempotency_key"] for d in documents)
    assert len(documents) == count, f"{len(documents)} documents stored for {count} sent"
    assert all(n == 1 for n in keys.values()), "a message produced two documents"
    blob_ids = [d["blob_id"] for d in documents]
    blobs = await db[f"{DOCUMENT_BLOBS_BUCKET}.files"].count_documents({"_id": {"$in": blob_ids}})
    assert blobs == count, f"{blobs} blobs for {count} documents"
    outbox = (
        await db["outbox"].find({"subject": application_id, "type": "document.received"}).to_list()
    )
    assert len(outbox) == count, f"{len(outbox)} document.received entries for {count} documents"
    assert all(e["status"] == "sent" for e in outbox), "an outbox entry was never published"
    received = {
        e["id"]
        for e in events
        if e["type"] == "document.received" and e["subject"] == application_id
    }
    assert received == {e["_id"] for e in outbox}, (
        "a document.received event never reached the broker"
    )
