"""Dead-lettering an event the notifier could not deliver, with the reason for ops.

The copy carries the ``x-first-death-*`` headers the dead-letter desk reads, so a replay
puts it back on the notifier's queue; the deliveries record then sends only what is left.
"""

from __future__ import annotations

from faststream.rabbit import RabbitBroker

from shared.events import CloudEvent
from shared.outbox import CLOUDEVENTS_CONTENT_TYPE
from shared.topology import DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE, NOTIFIER_EVENTS

MAX_REASON_CHARS = 1000


async def dead_letter(broker: RabbitBroker, event: CloudEvent, *, reason: str) -> None:
    """Publish ``event`` to ``regwatch.dlx`` (confirmed), naming why it died."""
    await broker.publish(
        event.model_dump(mode="json"),
        exchange=DEAD_LETTER_EXCHANGE,
        routing_key=event.type,
        headers={
            "x-first-death-queue": NOTIFIER_EVENTS.name,
            "x-first-death-exchange": EVENTS_EXCHANGE.name,
            "x-first-death-reason": reason[:MAX_REASON_CHARS],
        },
        message_id=event.id,
        correlation_id=event.correlationid or event.id,
        content_type=CLOUDEVENTS_CONTENT_TYPE,
        persist=True,
    )
