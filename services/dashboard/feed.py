"""The live event feed: one exclusive queue per dashboard replica, fanned out to SSE clients.

Each replica binds its own auto-delete queue to ``regwatch.events`` with ``#``, so every
replica sees every event and nothing is left behind when it stops. Slow browsers do not
slow the feed: each client has a bounded buffer and loses the oldest lines when it is full.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from pydantic import ValidationError

from shared.app.event_lines import EventLine, event_line
from shared.infra.topology import EVENTS_EXCHANGE

log = logging.getLogger("regwatch.dashboard.feed")
CLIENT_BUFFER = 200


class LiveFeed:
    """Consumes every event and hands an EventLine to every subscribed client."""

    def __init__(self) -> None:
        self.queue_name = f"regwatch.dashboard.feed.{uuid.uuid4().hex[:12]}"
        self._clients: set[asyncio.Queue[EventLine]] = set()

    async def start(self, connection: AbstractRobustConnection) -> None:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=100)
        exchange = await channel.declare_exchange(
            EVENTS_EXCHANGE.name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(self.queue_name, exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="#")
        await queue.consume(self._on_message, no_ack=True)

    @property
    def client_count(self) -> int:
        return len(self._clients)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[EventLine]]:
        """A buffer that receives every event from now on, until the block ends."""
        buffer: asyncio.Queue[EventLine] = asyncio.Queue(maxsize=CLIENT_BUFFER)
        self._clients.add(buffer)
        try:
            yield buffer
        finally:
            self._clients.discard(buffer)

    def deliver(self, line: EventLine) -> None:
        for buffer in list(self._clients):
            if buffer.full():
                buffer.get_nowait()  # drop the oldest: a stalled browser must not stall us
            buffer.put_nowait(line)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            line = event_line(json.loads(message.body))
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            log.warning("feed skips a message that is no CloudEvent: %s", exc)
            return
        self.deliver(line)
