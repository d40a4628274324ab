"""Sending a message that can never succeed to the dead-letter queue, with its reason.

The broker dead-letters a message itself after ``x-delivery-limit`` deliveries, but only
with the reason ``delivery_limit``; ops need the error to choose between replay and discard.
So a consumer on its last try publishes the copy itself, with the ``x-first-death-*``
headers the dead-letter desk reads (and a replay uses to find the queue), then acks.
"""

from __future__ import annotations

from aio_pika.abc import AbstractIncomingMessage
from faststream.rabbit import RabbitBroker

from shared.infra.topology import DEAD_LETTER_EXCHANGE, ConsumerQueue

MAX_REASON_CHARS = 1000


def delivery_attempt(message: AbstractIncomingMessage) -> int:
    """Which delivery of the message this is (1 = first); quorum queues count them."""
    count = (message.headers or {}).get("x-delivery-count") or 0
    return int(count) + 1 if isinstance(count, int | str) else 1


async def dead_letter(
    broker: RabbitBroker,
    message: AbstractIncomingMessage,
    *,
    consumer: ConsumerQueue,
    reason: str,
) -> None:
    """Publish a copy of ``message`` to ``regwatch.dlx`` (confirmed) naming ``reason``.

    The broker refuses a ``user_id`` other than the publisher's own, so the original
    publisher's user travels as the header ``x-regwatch-user-id``.
    """
    headers = {
        **dict(message.headers or {}),
        "x-first-death-queue": consumer.name,
        "x-first-death-exchange": consumer.exchange.name,
        "x-first-death-reason": reason[:MAX_REASON_CHARS],
        "x-regwatch-user-id": message.user_id or "",
    }
    headers.pop("x-delivery-count", None)
    await broker.publish(
        message.body,
        exchange=DEAD_LETTER_EXCHANGE,
        routing_key=message.routing_key or "",
        headers=headers,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        content_type=message.content_type,
        reply_to=message.reply_to,
        persist=True,
    )
