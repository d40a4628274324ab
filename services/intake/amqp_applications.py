"""``regwatch.intake`` / ``application.create``: an AMQP-only partner creates applications.

The body is the JSON of ``POST /v1/applications``; ``message_id`` is the idempotency key
(the same id again answers ``duplicate`` with the first application's id). The reply on
``reply_to`` is ``{"status": "created"|"duplicate"|"rejected", "application_id", "errors"}``
with the same checks and error codes as HTTP.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from aio_pika.abc import AbstractIncomingMessage
from faststream import AckPolicy
from faststream.rabbit import RabbitBroker
from faststream.rabbit.subscriber import RabbitSubscriber
from pydantic import BaseModel, Field, ValidationError
from pymongo.errors import DuplicateKeyError

from services.intake import applications as store
from services.intake.amqp import current_message, partner_for_user
from services.intake.checks import IntakeError
from services.intake.http.schemas import ApplicationCreate
from services.intake.replies import handle_and_reply
from shared.domain.events import ErrorItem
from shared.infra.consuming import raw_body
from shared.infra.runtime import ServiceContext
from shared.infra.topology import INTAKE_APPLICATIONS, INTAKE_EXCHANGE, quorum_queue

log = logging.getLogger("regwatch.intake.applications")

CREATE_DESCRIPTION = (
    "A partner creates an application (new, renewal or change) for one of its exporters. "
    "Body: JSON, the same object as the body of POST /v1/applications. Properties: message_id "
    "(required, the idempotency key), user_id (required, the partner's RabbitMQ user), "
    "content_type application/json, reply_to and correlation_id (optional). With reply_to set, "
    'one JSON reply {"status": "created"|"duplicate"|"rejected", "application_id", '
    '"errors": [{"code", "message"}]} carrying the same correlation_id.'
)


class CreateReply(BaseModel):
    """The one answer to ``application.create`` with ``reply_to`` (same ``correlation_id``)."""

    status: Literal["created", "duplicate", "rejected"]
    application_id: str | None = None
    errors: list[ErrorItem] = Field(default_factory=list)


class Refused(Exception):
    """The request cannot be taken: every reason, as the HTTP API words them."""

    def __init__(self, errors: list[ErrorItem]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


def parse_request(body: bytes) -> ApplicationCreate:
    """The request a body describes; ``Refused`` with ``invalid_request`` errors otherwise."""
    try:
        return ApplicationCreate.model_validate_json(body)
    except ValidationError as exc:
        raise Refused(
            [
                ErrorItem(
                    code="invalid_request",
                    message=f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}",
                )
                for err in exc.errors()
            ]
        ) from None


async def handle_create(ctx: ServiceContext, message: AbstractIncomingMessage) -> CreateReply:
    """Create the application a message asks for, once per message id."""
    try:
        partner_id = await partner_for_user(ctx, message.user_id)
        key = message.message_id
        if not key:
            raise IntakeError("missing_message_id", "The message_id property is required.")
        request = parse_request(message.body)
        if existing := await store.application_by_key(
            ctx, partner_id=partner_id, idempotency_key=key
        ):
            return CreateReply(status="duplicate", application_id=existing["_id"])
        try:
            document = await store.create_application(
                ctx,
                partner_id=partner_id,
                **request.model_dump(exclude={"exporter"}),
                exporter=request.exporter,
                idempotency_key=key,
                channel="amqp",
            )
        except DuplicateKeyError:  # a redelivery raced the first delivery
            first = await store.application_by_key(ctx, partner_id=partner_id, idempotency_key=key)
            assert first is not None
            return CreateReply(status="duplicate", application_id=first["_id"])
    except IntakeError as error:
        return CreateReply(
            status="rejected", errors=[ErrorItem(code=error.code, message=error.message)]
        )
    except Refused as refused:
        return CreateReply(status="rejected", errors=refused.errors)
    return CreateReply(status="created", application_id=document["_id"])


def create_subscriber(broker: RabbitBroker, *, delivery_limit: int) -> RabbitSubscriber:
    """The subscriber of ``application.create`` (also what the AsyncAPI document describes)."""
    queue = quorum_queue(
        INTAKE_APPLICATIONS.name, INTAKE_APPLICATIONS.routing_keys[0], delivery_limit=delivery_limit
    )
    return broker.subscriber(
        queue,
        INTAKE_EXCHANGE,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        no_reply=True,
        decoder=raw_body,  # parsed here, so a bad body gets a specific rejection
        title="application.create",
        description=CREATE_DESCRIPTION,
    )


def register(broker: RabbitBroker, ctx: ServiceContext) -> None:
    """Consume ``application.create``; a message is acked after its write (or rejection)."""
    subscriber = create_subscriber(broker, delivery_limit=ctx.settings.delivery_limit)

    @subscriber
    async def on_create(_body: bytes) -> None:
        raw = current_message(broker)  # the body with its envelope

        async def handle() -> dict[str, Any]:
            reply = await handle_create(ctx, raw)
            log.info("application.create %s: %s", raw.message_id, reply.status)
            return reply.model_dump(mode="json")

        await handle_and_reply(broker, ctx, raw, consumer=INTAKE_APPLICATIONS, handle=handle)
