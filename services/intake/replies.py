"""One way to answer a partner's AMQP request: handle it (a database outage waited out),
reply on its ``reply_to``, and dead-letter it with its reason once the last delivery fails."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from faststream.rabbit import RabbitBroker

from shared.infra.dead_letters import dead_letter, delivery_attempt
from shared.infra.logs import correlation_id
from shared.infra.retry import with_backoff
from shared.infra.runtime import ServiceContext
from shared.infra.topology import ConsumerQueue

log = logging.getLogger("regwatch.intake.amqp")


async def handle_and_reply(
    broker: RabbitBroker,
    ctx: ServiceContext,
    raw: AbstractIncomingMessage,
    *,
    consumer: ConsumerQueue,
    handle: Callable[[], Awaitable[dict[str, Any]]],
) -> dict[str, Any] | None:
    """The reply ``handle`` made, also sent to ``reply_to`` when the message names one; None
    when the message went to the dead letters. A failure before the last delivery raises,
    so the broker redelivers the message."""
    token = correlation_id.set(raw.correlation_id or raw.message_id)
    try:
        reply = await with_backoff(handle, what=f"intake {consumer.routing_keys[0]}")
    except Exception as exc:
        attempt = delivery_attempt(raw)
        log.warning("message %s failed (try %d): %s", raw.message_id, attempt, exc)
        if attempt < ctx.settings.delivery_limit:
            raise
        reason = f"{type(exc).__name__}: {exc}"
        await dead_letter(broker, raw, consumer=consumer, reason=reason)
        return None
    finally:
        correlation_id.reset(token)
    if raw.reply_to:
        await broker.publish(
            json.dumps(reply).encode(),
            routing_key=raw.reply_to,
            correlation_id=raw.correlation_id,
            content_type="application/json",
        )
    return reply
