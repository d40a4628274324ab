"""The RabbitMQ topology, declared in one place.

- ``regwatch.intake`` (direct): partner submissions, routing keys ``document.submit`` and
  ``application.create``.
- ``regwatch.events`` (topic): every event, routing key = event type.
- ``regwatch.partner-events`` (headers), bound from ``regwatch.events`` for the event types
  partners hear about: each partner's queue ``partner.<amqp_user>.events`` is bound on the
  header ``regwatch-partner`` = its partner id, which the outbox relay sets. The webhooks
  service's queue is bound there on the header's presence: every partner's events.
- ``regwatch.dlx`` (fanout) -> ``regwatch.dead_letters`` (quorum): every dead letter.
- One durable quorum queue per consumer, dead-lettering to ``regwatch.dlx`` after
  ``delivery_limit`` deliveries (at-least-once dead-lettering, so nothing is dropped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faststream.rabbit import ExchangeType, QueueType, RabbitExchange, RabbitQueue

INTAKE_EXCHANGE = RabbitExchange("regwatch.intake", type=ExchangeType.DIRECT, durable=True)
EVENTS_EXCHANGE = RabbitExchange("regwatch.events", type=ExchangeType.TOPIC, durable=True)
DEAD_LETTER_EXCHANGE = RabbitExchange("regwatch.dlx", type=ExchangeType.FANOUT, durable=True)
PARTNER_EVENTS_EXCHANGE = RabbitExchange(
    "regwatch.partner-events", type=ExchangeType.HEADERS, durable=True
)

SUBMIT_ROUTING_KEY = "document.submit"
CREATE_APPLICATION_ROUTING_KEY = "application.create"
DEAD_LETTER_QUEUE_NAME = "regwatch.dead_letters"

# Headers exchanges ignore headers starting with "x-" under x-match all/any: hence no prefix.
PARTNER_HEADER = "regwatch-partner"
# What a partner hears about its applications, documents and registrations (topic patterns).
PARTNER_EVENT_KEYS = (
    "document.received",
    "document.rejected",
    "document.read",
    "application.validated",
    "application.status_changed",
    "registration.status_changed",
    "registration.expired",
    "deadline.*",
)


@dataclass(frozen=True)
class ConsumerQueue:
    """A consumer's queue: its name, its exchange and the routing keys bound to it (or,
    on a headers exchange, the binding arguments)."""

    name: str
    exchange: RabbitExchange
    routing_keys: tuple[str, ...]
    bind_arguments: dict[str, Any] | None = field(default=None, hash=False)


INTAKE_DOCUMENTS = ConsumerQueue(
    "regwatch.intake.documents", INTAKE_EXCHANGE, (SUBMIT_ROUTING_KEY,)
)
INTAKE_APPLICATIONS = ConsumerQueue(
    "regwatch.intake.applications", INTAKE_EXCHANGE, (CREATE_APPLICATION_ROUTING_KEY,)
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
# A header bound with no value (AMQP void) matches on its presence: every event that the
# relay routed to some partner, whichever partner.
WEBHOOKS_EVENTS = ConsumerQueue(
    "regwatch.webhooks.events",
    PARTNER_EVENTS_EXCHANGE,
    ("",),
    bind_arguments={"x-match": "any", PARTNER_HEADER: None},
)

CONSUMER_QUEUES = (
    INTAKE_DOCUMENTS,
    INTAKE_APPLICATIONS,
    VALIDATOR_EVENTS,
    NOTIFIER_EVENTS,
    READER_DOCUMENTS,
    WEBHOOKS_EVENTS,
)


def quorum_queue(
    name: str,
    routing_key: str | None = None,
    *,
    delivery_limit: int,
    bind_arguments: dict[str, Any] | None = None,
) -> RabbitQueue:
    """A durable quorum queue that dead-letters to ``regwatch.dlx`` after ``delivery_limit``."""
    return RabbitQueue(
        name,
        durable=True,
        queue_type=QueueType.QUORUM,
        routing_key=routing_key or "",
        bind_arguments=bind_arguments,
        arguments={
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )


# The dead-letter queue has no dead-letter path of its own, so a delivery limit there would
# drop letters; RabbitMQ 4 gives every quorum queue a limit of 20 unless a policy says
# otherwise. This policy makes the limit explicit and out of reach (1,000,000 deliveries,
# a value RabbitMQ 3.x accepts too), set by every service at start (shared.infra.broker_policies)
# and by ``make cluster-up`` (devtools.rabbit_cluster).
DEAD_LETTER_POLICY_NAME = "regwatch-dead-letters"
DEAD_LETTER_POLICY = {
    "pattern": r"^regwatch\.dead_letters$",
    "definition": {"delivery-limit": 1_000_000},
    "apply-to": "queues",
    "priority": 10,
}


def dead_letter_queue() -> RabbitQueue:
    """The one queue that keeps every dead letter until ops replay or discard it."""
    return RabbitQueue(DEAD_LETTER_QUEUE_NAME, durable=True, queue_type=QueueType.QUORUM)


def partner_events_queue_name(amqp_user: str) -> str:
    """The events queue of the partner whose RabbitMQ user is ``amqp_user``."""
    return f"partner.{amqp_user}.events"


def partner_events_queue_arguments(*, delivery_limit: int) -> dict[str, object]:
    """Arguments of a partner's events queue: durable quorum, dead-lettering.

    Its length bound is not an argument (fixed when the queue is declared) but the policy
    ``partner_events_policy``, which RabbitMQ applies to existing queues as soon as it
    changes.
    """
    return {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
        "x-delivery-limit": delivery_limit,
    }


PARTNER_EVENTS_POLICY_NAME = "regwatch-partner-events"


def partner_events_policy(*, max_length: int) -> dict[str, object]:
    """The policy bounding every partner's events queue (``partner.<amqp_user>.events``).

    An absent partner must not fill the broker: beyond ``max_length`` the oldest event is
    dead-lettered (``drop-head``). ``reject-publish`` would nack the relay's publish and
    hold back the event for every other consumer too. Quorum queues dead-letter dropped
    heads at most once, so these queues keep the default dead-letter strategy.
    """
    return {
        "pattern": r"^partner\..+\.events$",
        "definition": {
            "max-length": max_length,
            "overflow": "drop-head",
            "dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
        },
        "apply-to": "queues",
        "priority": 10,
    }


def partner_binding_arguments(partner_id: str) -> dict[str, str]:
    """The binding of a partner's events queue: only events carrying its partner id."""
    return {"x-match": "all", PARTNER_HEADER: partner_id}


def is_partner_event(event_type: str) -> bool:
    """Whether ``event_type`` matches ``PARTNER_EVENT_KEYS`` (``*`` is one word, as in AMQP)."""
    words = event_type.split(".")
    for key in PARTNER_EVENT_KEYS:
        pattern = key.split(".")
        if len(pattern) == len(words) and all(
            p in ("*", w) for p, w in zip(pattern, words, strict=True)
        ):
            return True
    return False
