"""Building a service's RabbitMQ broker and declaring the whole topology on it."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

import aio_pika
from aio_pika import RobustConnection
from aio_pika.abc import AbstractRobustConnection
from aio_pika.connection import make_url
from faststream.rabbit import Channel, RabbitBroker
from prometheus_client import REGISTRY

from shared.infra.metrics import MessageMetrics
from shared.infra.settings import Settings
from shared.infra.topology import (
    CONSUMER_QUEUES,
    DEAD_LETTER_EXCHANGE,
    EVENTS_EXCHANGE,
    INTAKE_EXCHANGE,
    PARTNER_EVENT_KEYS,
    PARTNER_EVENTS_EXCHANGE,
    dead_letter_queue,
    quorum_queue,
)

log = logging.getLogger("regwatch.broker")


class FailoverConnection(RobustConnection):
    """A robust connection that tries the next broker address at each reconnection.

    aio-pika's robust connection reconnects to its one URL and then restores its channels
    and consumers. Here every connection attempt starts by clearing the transport; from the
    second attempt on, the address moves to the next node in ``urls``, so a service whose
    node died carries on with another node of the cluster, consumers and all.
    """

    urls: tuple[str, ...] = ()  # set by ``failover_to``

    def __init__(self, url: Any, loop: Any = None, **kwargs: Any) -> None:
        self._attempts = 0
        super().__init__(url, loop=loop, **kwargs)
        query = dict(self.url.query)  # connection options ride on the URL; keep them
        self._failover_urls = [make_url(u).update_query(query) for u in self.urls] or [self.url]

    @property
    def transport(self) -> Any:
        return self.__dict__.get("_transport")

    @transport.setter
    def transport(self, value: Any) -> None:
        # aio-pika clears the transport right before each connection attempt (and on close,
        # which is no attempt: closing does not move to another node).
        if (
            value is None
            and "_failover_urls" in self.__dict__
            and not self.__dict__.get("_close_called")
        ):
            if self._attempts:
                self.url = self._failover_urls[self._attempts % len(self._failover_urls)]
                log.info("connecting to the next broker node: %s", self)
            self._attempts += 1
        self.__dict__["_transport"] = value


def failover_to(urls: list[str]) -> type[FailoverConnection]:
    """The connection class for ``connect_robust`` that fails over across ``urls``."""
    return type("FailoverConnection", (FailoverConnection,), {"urls": tuple(urls)})


def connection_name(service: str, role: str) -> str:
    """How the broker lists a connection: service, role, host and process."""
    return f"regwatch-{service}-{role} {socket.gethostname()}:{os.getpid()}"


async def connect_failover(
    urls: list[str], *, name: str, reconnect_interval: float = 2.0
) -> AbstractRobustConnection:
    """A robust connection to the first node that answers, failing over across ``urls``."""
    return await aio_pika.connect_robust(
        urls[0],
        connection_class=failover_to(urls),
        client_properties={"connection_name": name},
        reconnect_interval=reconnect_interval,
        # With several nodes the first attempt may meet a dead one: try the next instead.
        fail_fast=len(urls) == 1,
    )


def make_broker(settings: Settings, service: str) -> RabbitBroker:
    """A broker with publisher confirms, bounded prefetch and the service's logger.

    With several broker addresses it fails over across them (``FailoverConnection``).
    """
    broker = RabbitBroker(
        settings.amqp_url,
        default_channel=Channel(prefetch_count=settings.prefetch_count, publisher_confirms=True),
        app_id=f"regwatch-{service}",
        logger=logging.getLogger(f"regwatch.{service}.broker"),
        log_level=logging.getLevelNamesMapping()[settings.message_log_level.upper()],
        graceful_timeout=15.0,
        reconnect_interval=2.0,
        fail_fast=len(settings.broker_urls) == 1,
        # Message counts, sizes and handling times per handler, on the process's /metrics.
        middlewares=[MessageMetrics(registry=REGISTRY, app_name=f"regwatch-{service}")],
        # Handlers take the decoded body as their one argument: no FastDepends call model
        # per message (a pydantic validation of the arguments and of the returned None).
        apply_types=False,
    )
    # FastStream hands these keyword arguments to aio-pika's connect_robust.
    broker._connection_kwargs["connection_class"] = failover_to(settings.broker_urls)
    broker._connection_kwargs["client_properties"] = {
        "connection_name": connection_name(service, "consumer")
    }
    return broker


async def declare_topology(broker: RabbitBroker, settings: Settings) -> None:
    """Declare every exchange and queue and bind every routing key (idempotent)."""
    events = await broker.declare_exchange(EVENTS_EXCHANGE)
    intake = await broker.declare_exchange(INTAKE_EXCHANGE)
    dlx = await broker.declare_exchange(DEAD_LETTER_EXCHANGE)
    partner_events = await broker.declare_exchange(PARTNER_EVENTS_EXCHANGE)
    for key in PARTNER_EVENT_KEYS:  # partners' queues are bound to it when they are taken on
        await partner_events.bind(events, routing_key=key)
    dlq = await broker.declare_queue(dead_letter_queue())
    await dlq.bind(dlx, routing_key="")
    exchanges = {
        EVENTS_EXCHANGE.name: events,
        INTAKE_EXCHANGE.name: intake,
        PARTNER_EVENTS_EXCHANGE.name: partner_events,
    }
    for consumer in CONSUMER_QUEUES:
        queue = await broker.declare_queue(
            quorum_queue(consumer.name, delivery_limit=settings.delivery_limit)
        )
        for key in consumer.routing_keys:
            await queue.bind(
                exchanges[consumer.exchange.name],
                routing_key=key,
                arguments=consumer.bind_arguments,
            )
