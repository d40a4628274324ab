"""The AsyncAPI document of the partner AMQP contract, generated from the code.

``python -m services.intake.asyncapi > docs/asyncapi.yaml`` (or ``make asyncapi``). It needs
no running server: the broker is built but never connected.
"""

from __future__ import annotations

from typing import Literal

from faststream.specification import AsyncAPI
from pydantic import BaseModel

from services.intake.amqp import submit_subscriber
from services.intake.amqp_applications import CreateReply, create_subscriber
from services.intake.http.schemas import ApplicationCreate
from shared.domain.events import (
    ApplicationStatusChanged,
    ApplicationValidated,
    CloudEvent,
    DeadlineEvent,
    DocumentRead,
    DocumentReceived,
    DocumentRejected,
    ErrorItem,
    RegistrationStatusChanged,
)
from shared.infra.broker import make_broker
from shared.infra.settings import Settings
from shared.infra.topology import EVENTS_EXCHANGE, PARTNER_HEADER

TITLE = "regwatch partner intake (AMQP)"
# The server partners are told about; the broker is never connected to it here.
PUBLIC_AMQP_URL = "amqp://rabbitmq.regwatch.example:5672/"
DESCRIPTION = (
    "Partners create applications and submit registration documents to regwatch over "
    "RabbitMQ, and follow them on their own events queue. Publish to the exchange "
    "`regwatch.intake`: routing key `application.create` with the JSON body of "
    "POST /v1/applications, or `document.submit` with the file's raw bytes (persistent). "
    "Your RabbitMQ user may publish only there, may declare and read only reply queues named "
    "`partner.<your RabbitMQ user>.<anything>`, and may consume (not declare or delete) "
    "`partner.<your RabbitMQ user>.events`, where regwatch puts every event about your "
    "documents, applications, registrations and deadlines. "
    "The same events can be pushed to your HTTPS endpoints instead, signed per the Standard "
    "Webhooks specification (POST /v1/webhooks; the request is under `webhooks` in the "
    "intake's OpenAPI document). "
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


class DocumentReadEvent(CloudEvent):
    """CloudEvents envelope of ``document.read``."""

    data: DocumentRead  # type: ignore[assignment]


class ApplicationValidatedEvent(CloudEvent):
    """CloudEvents envelope of ``application.validated``."""

    data: ApplicationValidated  # type: ignore[assignment]


class ApplicationStatusChangedEvent(CloudEvent):
    """CloudEvents envelope of ``application.status_changed``."""

    data: ApplicationStatusChanged  # type: ignore[assignment]


class RegistrationStatusChangedEvent(CloudEvent):
    """CloudEvents envelope of ``registration.status_changed``."""

    data: RegistrationStatusChanged  # type: ignore[assignment]


class DeadlineReminderEvent(CloudEvent):
    """CloudEvents envelope of ``deadline.*`` and ``registration.expired``."""

    data: DeadlineEvent  # type: ignore[assignment]


PARTNER_EVENTS = (
    ("document.received", DocumentReceivedEvent),
    ("document.rejected", DocumentRejectedEvent),
    ("document.read", DocumentReadEvent),
    ("application.validated", ApplicationValidatedEvent),
    ("application.status_changed", ApplicationStatusChangedEvent),
    ("registration.status_changed", RegistrationStatusChangedEvent),
    ("deadline and registration.expired", DeadlineReminderEvent),
)


def specification(settings: Settings | None = None) -> AsyncAPI:
    """The AsyncAPI 3.0 document of the intake's AMQP side."""
    settings = settings or Settings(_env_file=None, amqp_url=PUBLIC_AMQP_URL)  # type: ignore[call-arg]
    broker = make_broker(settings, "intake")

    @submit_subscriber(broker, delivery_limit=settings.delivery_limit)
    async def document_submit(body: bytes) -> None:
        """Documentation only: the service registers its real handler in amqp.register."""

    @create_subscriber(broker, delivery_limit=settings.delivery_limit)
    async def application_create(body: ApplicationCreate) -> None:
        """Documentation only: the service registers its real handler."""

    broker.publisher(
        "partner.{amqp_user}.{reply_queue}",
        title="document.submit reply",
        description="Sent through the default exchange to the message's reply_to queue.",
        schema=SubmitReply,
    )
    broker.publisher(
        "partner.{amqp_user}.{reply_queue}",
        title="application.create reply",
        description="Sent through the default exchange to the message's reply_to queue.",
        schema=CreateReply,
    )
    for event_type, model in PARTNER_EVENTS:
        broker.publisher(
            "partner.{amqp_user}.events",
            title=f"{event_type} on your events queue",
            description=(
                f"{event_type}: the CloudEvent regwatch.events carries (routing key = event "
                f"type, message_id = event id, header {PARTNER_HEADER} = your partner id), "
                "in your durable events queue, only for your own documents, applications, "
                "registrations and deadlines. Consume with manual acknowledgement; "
                "de-duplicate by message_id."
            ),
            schema=model,
        )
    for event_type, model in PARTNER_EVENTS[:2]:
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
