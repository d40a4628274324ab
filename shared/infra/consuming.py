"""What every event consumer shares: parsing the envelope and refusing poison at once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aio_pika.abc import AbstractIncomingMessage
from faststream import AckPolicy
from faststream.message import StreamMessage
from faststream.rabbit import RabbitBroker
from pydantic import ValidationError

from shared.domain.events import CloudEvent, Payload
from shared.infra.dead_letters import dead_letter, delivery_attempt
from shared.infra.logs import correlation_id
from shared.infra.retry import with_backoff
from shared.infra.settings import Settings
from shared.infra.topology import ConsumerQueue, quorum_queue

log = logging.getLogger("regwatch.consuming")

EventHandler = Callable[[CloudEvent], Awaitable[None]]
# The AMQP headers of the message being handled, for a handler that routes on them (the
# webhooks service reads the partner header the relay set), as correlation_id is passed.
message_headers: ContextVar[dict[str, Any]] = ContextVar("message_headers")
P = TypeVar("P", bound=Payload)


class GiveUp(Exception):
    """Raised by a handler: this event can never be handled; dead-letter it now."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Route(Generic[P]):
    """How a consumer handles one event type: its payload model and the handler."""

    payload: type[P]
    handle: Callable[[CloudEvent, P], Awaitable[None]]


def typed_payload(payload: type[P], event: CloudEvent) -> P:
    """``event``'s payload as ``payload``; ``GiveUp`` when it can never be one."""
    try:
        return payload.model_validate(event.data)
    except ValidationError as exc:
        raise GiveUp(f"{event.type} {event.id} has no valid payload: {exc}") from exc


def dispatch(routes: Mapping[str, Route[Any]]) -> EventHandler:
    """A handler calling each event's route with its typed payload; other types are ignored.

    A payload that does not validate can never succeed: it is dead-lettered at once.
    """

    async def on_event(event: CloudEvent) -> None:
        route = routes.get(event.type)
        if route is not None:
            await route.handle(event, typed_payload(route.payload, event))

    return on_event


def current_delivery(broker: RabbitBroker) -> StreamMessage[AbstractIncomingMessage]:
    """The message the running handler was called for, from the broker's context.

    Read there rather than asked for as a ``RabbitMessage`` argument: FastStream resolves
    such an argument through a synchronous context lookup that FastDepends runs in a
    worker thread, one thread hop (and a lock handed between threads) per message.
    """
    message: StreamMessage[AbstractIncomingMessage] = broker.context.get_local("message")
    return message


async def raw_body(message: StreamMessage[Any]) -> bytes:
    """The body as received, whatever its content type: the handler checks or parses it
    itself (FastStream's default decoder would first decode a JSON or text body)."""
    return message.body


def subscribe_events(
    broker: RabbitBroker, consumer: ConsumerQueue, settings: Settings, handler: EventHandler
) -> None:
    """Consume ``consumer``'s queue, handing each CloudEvent to ``handler``.

    A body that is no CloudEvent can never succeed: it is rejected without requeue, so it
    goes to the dead-letter queue at once. A database outage is waited out with backoff
    (``shared.infra.retry``). Any other handler error is nacked and redelivered; on the last
    delivery the message goes to the dead-letter queue with the error as its reason, and
    ``GiveUp`` sends it there at once. A message is acked only after the handler returned,
    that is after its writes.
    """
    queue = quorum_queue(
        consumer.name,
        consumer.routing_keys[0],
        delivery_limit=settings.delivery_limit,
        bind_arguments=consumer.bind_arguments,
    )

    @broker.subscriber(
        queue,
        consumer.exchange,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        no_reply=True,
        decoder=raw_body,
        title=consumer.name,
    )
    async def on_message(body: bytes) -> None:
        msg = current_delivery(broker)
        raw = msg.raw_message
        try:
            event = CloudEvent.model_validate_json(body)
        except ValidationError as exc:
            log.error("dead-lettering message %s: not a CloudEvent: %s", msg.message_id, exc)
            await msg.reject()
            return
        token = correlation_id.set(event.correlationid or event.id)
        headers = message_headers.set(dict(raw.headers or {}))
        try:
            await with_backoff(lambda: handler(event), what=f"{consumer.name} {event.type}")
        except GiveUp as exc:
            log.error("dead-lettering event %s: %s", event.id, exc.reason)
            await dead_letter(broker, raw, consumer=consumer, reason=exc.reason)
        except Exception as exc:
            attempt = delivery_attempt(raw)
            log.warning("event %s failed (try %d): %s", event.id, attempt, exc)
            if attempt < settings.delivery_limit:
                raise
            reason = f"{type(exc).__name__}: {exc}"
            await dead_letter(broker, raw, consumer=consumer, reason=reason)
        finally:
            correlation_id.reset(token)
            message_headers.reset(headers)
