"""Helpers for the dashboard and CLI tests: the dashboard on a real port, partner
submissions over the AMQP contract, and dead letters in the real dead-letter queue."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import aio_pika
import httpx
from pymongo.asynchronous.database import AsyncDatabase

from devtools.local_infra import free_port
from services.dashboard import app as dashboard_app
from services.dashboard.context import Dashboard
from shared.infra.queue_report import vhost_of
from shared.infra.settings import Settings
from shared.infra.topology import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE_NAME,
    INTAKE_DOCUMENTS,
    INTAKE_EXCHANGE,
    SUBMIT_ROUTING_KEY,
)
from tests.factories import make_application, make_partner
from tests.support import sample_pdf, wait_until


async def guest_partner(db: AsyncDatabase) -> str:
    """The partner behind RabbitMQ user ``guest`` (the tests' AMQP user)."""
    found = await db["partners"].find_one({"amqp_user": "guest"})
    return str(found["_id"]) if found else await make_partner(db, amqp_user="guest")


def submission(
    body: bytes,
    *,
    application_id: str,
    message_id: str | None = None,
    document_type: str = "business_licence",
    filename: str = "licence.pdf",
    content_type: str = "application/pdf",
) -> aio_pika.Message:
    """A partner's document message exactly as the AMQP contract describes it."""
    return aio_pika.Message(
        body,
        message_id=message_id or str(uuid.uuid4()),
        content_type=content_type,
        user_id="guest",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        headers={
            "x-application-id": application_id,
            "x-document-type": document_type,
            "x-filename": filename,
            "x-document-meta": json.dumps({"language": "en"}),
        },
    )


async def submit_document(amqp_url: str, message: aio_pika.Message) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(INTAKE_EXCHANGE.name)
        await exchange.publish(message, routing_key=SUBMIT_ROUTING_KEY)


async def poison_dead_letter(amqp_url: str, queue: str, body: bytes) -> str:
    """A message that ``queue``'s consumer refuses at once (no CloudEvent): a real dead
    letter, dead-lettered by RabbitMQ after the consumer's reject. Returns its message id."""
    message_id = f"poison-{uuid.uuid4()}"
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.default_exchange.publish(
            aio_pika.Message(body, message_id=message_id, content_type="text/plain"),
            routing_key=queue,
        )
    return message_id


async def intake_dead_letter(amqp_url: str, message: aio_pika.Message) -> None:
    """A partner submission as it sits in the dead-letter queue after the intake consumer
    failed on it ``delivery_limit`` times (say, MongoDB was down): RabbitMQ's own x-death
    headers, published through the dead-letter exchange. Once the cause is gone a replay
    must get it processed, which a consumer-side poison can never show."""
    now = datetime.now(UTC).replace(microsecond=0)
    death = {
        "count": 3,
        "reason": "delivery_limit",
        "queue": INTAKE_DOCUMENTS.name,
        "time": now,
        "exchange": INTAKE_EXCHANGE.name,
        "routing-keys": [SUBMIT_ROUTING_KEY],
    }
    headers: dict[str, Any] = dict(message.headers or {})
    headers.update(
        {
            "x-death": [death],
            "x-first-death-queue": INTAKE_DOCUMENTS.name,
            "x-first-death-reason": "delivery_limit",
            "x-first-death-exchange": INTAKE_EXCHANGE.name,
            "x-delivery-count": 3,
        }
    )
    message.headers = headers
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(DEAD_LETTER_EXCHANGE.name)
        await exchange.publish(message, routing_key="")


async def dead_letter_count(amqp_url: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(DEAD_LETTER_QUEUE_NAME, passive=True)
        return int(queue.declaration_result.message_count or 0)


@asynccontextmanager
async def dashboard_server(settings: Settings) -> AsyncIterator[tuple[Dashboard, str]]:
    """The dashboard serving on a free port of 127.0.0.1; yields it and its base URL."""
    board = await dashboard_app.start(settings)
    port = free_port()
    server = dashboard_app.server(board, port=port)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        yield board, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        await board.close()


def ops_headers(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.regwatch_ops_token}"}


async def consumers_listed(settings: Settings, queue: str) -> int:
    """The consumers the management API lists on ``queue`` (its figures lag the broker)."""
    vhost = quote(vhost_of(settings.amqp_url), safe="")
    url = f"{settings.rabbitmq_management_url}/api/queues/{vhost}/{quote(queue, safe='')}"
    auth = (settings.rabbitmq_management_user, settings.rabbitmq_management_password)
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(url, auth=auth)
    return int(response.json().get("consumers", 0)) if response.is_success else 0


async def until_consumers_unlisted(settings: Settings, queues: tuple[str, ...]) -> None:
    """Wait until the management API no longer lists the consumers a module stopped, so
    that the next module, which may wait for its own consumers through that API, is not
    misled by stale figures."""

    async def gone() -> bool:
        return all([await consumers_listed(settings, q) == 0 for q in queues])

    await wait_until(gone, timeout=30, interval=0.5)


async def validated_application(settings: Settings, db: AsyncDatabase, **fields: Any) -> str:
    """An application with one PDF submitted over AMQP and validated."""
    application_id = await make_application(db, await guest_partner(db), **fields)
    await submit_document(
        settings.amqp_url, submission(sample_pdf(str(uuid.uuid4())), application_id=application_id)
    )

    async def validated() -> bool:
        return bool(await db["validation_results"].find_one({"application_id": application_id}))

    await wait_until(validated, timeout=20)
    return application_id
