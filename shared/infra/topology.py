"""The RabbitMQ topology, declared in one place.

- ``regwatch.intake`` (direct): partner submissions, routing key ``document.submit``.
- ``regwatch.events`` (topic): every event, routing key = event type.
- ``regwatch.dlx`` (fanout) -> ``regwatch.dead_letters`` (quorum): every dead letter.
- One durable quorum queue per consumer, dead-lettering to ``regwatch.dlx`` after
  ``delivery_limit`` deliveries (at-least-once dead-lettering, so nothing is dropped).
"""

from __future__ import annotations

from dataclasses import dataclass

from faststream.rabbit import ExchangeType, QueueType, RabbitExchange, RabbitQueue

INTAKE_EXCHANGE = RabbitExchange("regwatch.intake", type=ExchangeType.DIRECT, durable=True)
EVENTS_EXCHANGE = RabbitExchange("regwatch.events", type=ExchangeType.TOPIC, durable=True)
DEAD_LETTER_EXCHANGE = RabbitExchange("regwatch.dlx", type=ExchangeType.FANOUT, durable=True)

SUBMIT_ROUTING_KEY = "document.submit"
DEAD_LETTER_QUEUE_NAME = "regwatch.dead_letters"


@dataclass(frozen=True)
class ConsumerQueue:
    """A consumer's queue: its name, its exchange and the routing keys bound to it."""

    name: str
    exchange: RabbitExchange
    routing_keys: tuple[str, ...]


INTAKE_DOCUMENTS = ConsumerQueue(
    "regwatch.intake.documents", INTAKE_EXCHANGE, (SUBMIT_ROUTING_KEY,)
)
VALIDATOR_EVENTS = ConsumerQueue(
    "regwatch.validator.events",
    EVENTS_EXCHANGE,
    ("document.received", "document.read", "application.decision", "registration.status_changed"),
)
READER_DOCUMENTS = ConsumerQueue(
    "regwatch.reader.documents", EVENTS_EXCHANGE, ("document.received",)
)
NOTIFIER_EVENTS = ConsumerQueue(
    "regwatch.notifier.events",
    EVENTS_EXCHANGE,
    ("deadline.*", "registration.*", "application.status_changed"),
)

CONSUMER_QUEUES = (INTAKE_DOCUMENTS, VALIDATOR_EVENTS, NOTIFIER_EVENTS, READER_DOCUMENTS)


def quorum_queue(name: str, routing_key: str | None = None, *, delivery_limit: int) -> RabbitQueue:
    """A durable quorum queue that dead-letters to ``regwatch.dlx`` after ``delivery_limit``."""
    return RabbitQueue(
        name,
        durable=True,
        queue_type=QueueType.QUORUM,
        routing_key=routing_key or "",
        arguments={
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )


def dead_letter_queue() -> RabbitQueue:
    """The one queue that keeps every dead letter until ops replay or discard it."""
    return RabbitQueue(DEAD_LETTER_QUEUE_NAME, durable=True, queue_type=QueueType.QUORUM)
