"""What every event consumer shares: parsing the envelope and refusing poison at once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from faststream import AckPolicy
from faststream.rabbit import RabbitBroker
from faststream.rabbit.annotations import RabbitMessage
from pydantic import ValidationError

from shared.events import CloudEvent
from shared.logs import correlation_id
from shared.retry import with_backoff
from shared.settings import Settings
from shared.topology import EVENTS_EXCHANGE, ConsumerQueue, quorum_queue

log = logging.getLogger("regwatch.consuming")

EventHandler = Callable[[CloudEvent], Awaitable[None]]


def subscribe_events(
    broker: RabbitBroker, consumer: ConsumerQueue, settings: Settings, handler: EventHandler
) -> None:
    """Consume ``consumer``'s queue, handing each CloudEvent to ``handler``.

    A body that is no CloudEvent can never succeed: it is rejected without requeue, so it
    goes to the dead-letter queue at once. A database outage is waited out with backoff
    (``shared.retry``). Any other handler error is nacked and redelivered until
    the queue's delivery limit dead-letters it; the message is acked only after the
    handler returned, that is after its writes.
    """
    queue = quorum_queue(
        consumer.name, consumer.routing_keys[0], delivery_limit=settings.delivery_limit
    )

    @broker.subscriber(
        queue,
        EVENTS_EXCHANGE,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        no_reply=True,
        title=consumer.name,
    )
    async def on_message(msg: RabbitMessage) -> None:
        try:
            event = CloudEvent.model_validate_json(msg.body)
        except ValidationError as exc:
            log.error("dead-lettering message %s: not a CloudEvent: %s", msg.message_id, exc)
            await msg.reject()
            return
        token = correlation_id.set(event.correlationid or event.id)
        try:
            await with_backoff(lambda: handler(event), what=f"{consumer.name} {event.type}")
        finally:
            correlation_id.reset(token)
