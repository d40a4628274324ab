"""Publishing on a connection of its own, with publisher confirms.

RabbitMQ recommends separate connections for publishing and consuming; here it also keeps
consumers alive when the broker closes a channel over a publish (a refused permission, a
missing exchange): aio-pika restores channels on reconnection, not after such a close, so
the publisher opens a fresh channel itself.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractRobustConnection

from shared.infra.broker import connect_failover

log = logging.getLogger("regwatch.publisher")


class Publisher:
    def __init__(self, amqp_url: str | list[str], *, name: str) -> None:
        # Several addresses: the nodes of a cluster, tried in turn (``connect_failover``).
        self._urls = [amqp_url] if isinstance(amqp_url, str) else amqp_url
        self._name = name
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._lock = asyncio.Lock()

    async def _open_channel(self) -> AbstractChannel:
        async with self._lock:
            if self._connection is None or self._connection.is_closed:
                self._connection = await connect_failover(self._urls, name=self._name)
            if self._channel is None or self._channel.is_closed:
                self._channel = await self._connection.channel(publisher_confirms=True)
            return self._channel

    async def publish(
        self, body: bytes, *, exchange: str, routing_key: str, **properties: Any
    ) -> None:
        """Publish a persistent message and wait for the broker's confirm.

        Raises when the broker refuses or the connection is down; the caller retries later.
        """
        channel = await self._open_channel()
        try:
            target = (
                channel.default_exchange
                if exchange == ""
                else await channel.get_exchange(exchange, ensure=False)
            )
            await target.publish(
                aio_pika.Message(
                    body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, **properties
                ),
                routing_key=routing_key,
            )
        except Exception:
            if channel.is_closed:
                log.warning("publishing channel was closed by the broker; a new one is opened")
                self._channel = None
            raise

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
            self._channel = None
