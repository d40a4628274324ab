"""Helpers for integration and e2e tests: a tap on the event exchange, waiting, serving an
HTTP app, samples."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aio_pika
import uvicorn
from PIL import Image
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from devtools.local_infra import free_port
from shared.infra import db as mongo
from shared.infra.settings import Settings
from shared.infra.topology import EVENTS_EXCHANGE

T = TypeVar("T")


class EventTap:
    """Collects every event published on ``regwatch.events`` while it is open."""

    def __init__(self, amqp_url: str, binding: str = "#") -> None:
        self._url = amqp_url
        self._binding = binding
        self.events: list[dict[str, Any]] = []
        self._connection: aio_pika.abc.AbstractConnection | None = None

    async def __aenter__(self) -> EventTap:
        self._connection = await aio_pika.connect(self._url)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(
            EVENTS_EXCHANGE.name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, self._binding)

        async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                self.events.append(json.loads(message.body))

        await queue.consume(collect)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._connection is not None:
            await self._connection.close()

    def of_type(self, event_type: str, **data: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e["type"] == event_type and all(e["data"].get(k) == v for k, v in data.items())
        ]

    async def wait_for(self, event_type: str, count: int = 1, timeout: float = 20, **data: Any):
        await wait_until(lambda: len(self.of_type(event_type, **data)) >= count, timeout)
        return self.of_type(event_type, **data)


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """``app`` served by uvicorn on a free port of 127.0.0.1 (as ``python -m`` serves it);
    its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    try:
        await wait_until(lambda: server.started, timeout=10)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def own_database(settings: Settings) -> AsyncIterator[AsyncDatabase]:
    """The database ``settings`` name, with regwatch's indexes; dropped afterwards."""
    client: AsyncMongoClient[Any] = mongo.connect(settings)
    try:
        database = mongo.database(client, settings)
        await mongo.ensure_indexes(database)
        yield database
        await client.drop_database(settings.mongodb_db)
    finally:
        await client.close()


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]],
    timeout: float = 20,
    interval: float = 0.05,
    message: Callable[[], str] | None = None,
) -> None:
    """Poll ``condition`` until it holds; fail the test with a clear message otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result) or isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            detail = f": {message()}" if message else ""
            raise AssertionError(f"condition not met within {timeout} s{detail}")
        await asyncio.sleep(interval)


def sample_pdf(text: str = "regwatch sample", pages: int = 1) -> bytes:
    """A small valid PDF whose bytes differ with ``text``."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": text})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def sample_image(fmt: str = "PNG", colour: bool = True, seed: int = 0) -> bytes:
    mode = "RGB" if colour else "L"
    fill = (200, (seed * 37) % 256, 40) if colour else (seed * 37) % 256
    image = Image.new(mode, (32, 32), fill)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


async def next_message(
    queue: aio_pika.abc.AbstractQueue, timeout: float = 20
) -> aio_pika.abc.AbstractIncomingMessage:
    """The next message on ``queue`` (acked), waiting up to ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        message = await queue.get(fail=False, no_ack=True)
        if message is not None:
            return message
        if loop.time() > deadline:
            raise AssertionError(f"no message on {queue.name} within {timeout} s")
        await asyncio.sleep(0.05)


async def drain_dead_letters(amqp_url: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Take every message now in ``regwatch.dead_letters`` (acked: they leave the queue)."""
    from shared.infra.topology import DEAD_LETTER_QUEUE_NAME

    found = []
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(DEAD_LETTER_QUEUE_NAME)
        while (message := await queue.get(fail=False)) is not None:
            found.append(message)
            await message.ack()
    return found
