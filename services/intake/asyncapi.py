"""The AsyncAPI document of the partner AMQP contract, generated from the code.

``python -m services.intake.asyncapi > docs/asyncapi.yaml`` (or ``make asyncapi``). It needs
no running server: the broker is built but never connected.
"""

from __future__ import annotations

from typing import Literal

from faststream.specification import AsyncAPI
from pydantic import BaseModel

from services.intake.amqp import submit_subscriber
from shared.domain.events import CloudEvent, DocumentReceived, DocumentRejected, ErrorItem
from shared.infra.broker import make_broker
from shared.infra.settings import Settings
from shared.infra.topology import EVENTS_EXCHANGE

TITLE = "regwatch partner intake (AMQP)"
# The server partners are told about; the broker is never connected to it here.
PUBLIC_AMQP_URL = "amqp://rabbitmq.regwatch.example:5672/"
DESCRIPTION = (
    "Partners submit registration documents to regwatch over RabbitMQ. "
    "Publish to the exchange `regwatch.intake` with routing key `document.submit`, persistent, "
    "body = the file's raw bytes. Your RabbitMQ user may publish only there and may declare and "
    "read only reply queues named `partner.<your RabbitMQ user>.<anything>`. "
    "See docs/partner-contract.md for every property, header and error code."
)


class SubmitReply(BaseModel):
    """The one answer to a submission with ``reply_to`` (same ``correlation_id``)."""

    status: Literal["accepted", "duplicate", "rejected"]
    document_id: str | None
    errors: list[ErrorItem]


class DocumentReceivedEvent(CloudEvent):
    """CloudEvents envelope of ``document.received``."""

    data: DocumentReceived  # type: ignore[assignment]


class DocumentRejectedEvent(CloudEvent):
    """CloudEvents envelope of ``document.rejected``."""

    data: DocumentRejected  # type: ignore[assignment]


def specification(settings: Settings | None = None) -> AsyncAPI:
    """The AsyncAPI 3.0 document of the intake's AMQP side."""
    settings = settings or Settings(_env_file=None, amqp_url=PUBLIC_AMQP_URL)  # type: ignore[call-arg]
    broker = make_broker(settings, "intake")

    @submit_subscriber(broker, delivery_limit=settings.delivery_limit)
    async def document_submit(body: bytes) -> None:
        """Documentation only: the service registers its real handler in amqp.register."""

    broker.publisher(
        "partner.{amqp_user}.{reply_queue}",
        title="document.submit reply",
        description="Sent through the default exchange to the message's reply_to queue.",
        schema=SubmitReply,
    )
    for event_type, model in (
        ("document.received", DocumentReceivedEvent),
        ("document.rejected", DocumentRejectedEvent),
    ):
        broker.publisher(
            exchange=EVENTS_EXCHANGE,
            routing_key=event_type,
            title=event_type,
            description=f"{event_type} on regwatch.events (internal consumers and ops).",
            schema=model,
        )
    return AsyncAPI(broker, title=TITLE, version="1.0.0", description=DESCRIPTION)


if __name__ == "__main__":
    print(specification().to_specification().to_yaml(), end="")
