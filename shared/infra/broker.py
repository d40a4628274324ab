"""Building a service's RabbitMQ broker and declaring the whole topology on it."""

from __future__ import annotations

import logging

from faststream.rabbit import Channel, RabbitBroker
from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
from prometheus_client import REGISTRY

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


def make_broker(settings: Settings, service: str) -> RabbitBroker:
    """A broker with publisher confirms, bounded prefetch and the service's logger."""
    return RabbitBroker(
        settings.amqp_url,
        default_channel=Channel(prefetch_count=settings.prefetch_count, publisher_confirms=True),
        app_id=f"regwatch-{service}",
        logger=logging.getLogger(f"regwatch.{service}.broker"),
        graceful_timeout=15.0,
        reconnect_interval=2.0,
        # Message counts, sizes and handling times per handler, on the process's /metrics.
        middlewares=[RabbitPrometheusMiddleware(registry=REGISTRY, app_name=f"regwatch-{service}")],
    )


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
    exchanges = {EVENTS_EXCHANGE.name: events, INTAKE_EXCHANGE.name: intake}
    for consumer in CONSUMER_QUEUES:
        queue = await broker.declare_queue(
            quorum_queue(consumer.name, delivery_limit=settings.delivery_limit)
        )
        for key in consumer.routing_keys:
            await queue.bind(exchanges[consumer.exchange.name], routing_key=key)
