"""The partner AMQP contract: ``regwatch.intake`` / ``document.submit`` -> stored document."""

from __future__ import annotations

import logging
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from faststream import AckPolicy
from faststream.rabbit import RabbitBroker
from faststream.rabbit.subscriber import RabbitSubscriber

from services.intake.checks import IntakeError, parse_metadata, sanitize_filename
from services.intake.content import as_file
from services.intake.lookups import lookups_of
from services.intake.replies import handle_and_reply
from services.intake.store import Outcome, Rejected, Submission
from services.intake.submit import reject, submit_document
from shared.infra.consuming import current_delivery, raw_body
from shared.infra.runtime import ServiceContext
from shared.infra.topology import INTAKE_DOCUMENTS, INTAKE_EXCHANGE, quorum_queue

log = logging.getLogger("regwatch.intake.amqp")

SUBMIT_DESCRIPTION = (
    "A partner submits one document. Body: the file's raw bytes (PDF, JPEG, "
    "PNG or TIFF). Properties: message_id (required, the idempotency key), content_type (required), "
    "user_id (required, the partner's RabbitMQ user; the broker verifies it), reply_to and "
    "correlation_id (optional). Headers: x-application-id, x-document-type, x-filename (required), "
    "x-document-meta (optional JSON object as a string). With reply_to set, one JSON reply "
    '{"status": "accepted"|"duplicate"|"rejected", "document_id", "errors": [{"code", "message"}]} '
    "carrying the same correlation_id."
)


def _header(headers: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = headers.get(name)
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise IntakeError("missing_header", f"The header {name} is required.")
        return None
    if not isinstance(value, str):
        raise IntakeError("bad_header", f"The header {name} must be a string.")
    return value.strip()


async def partner_for_user(ctx: ServiceContext, user_id: str | None) -> str:
    """The partner behind the RabbitMQ user that RabbitMQ verified as ``user_id``."""
    if not user_id:
        raise IntakeError(
            "missing_user_id", "The user_id property is required: set it to your RabbitMQ user."
        )
    partner_id = await lookups_of(ctx).partner_id_for_amqp_user(user_id)
    if partner_id is None:
        raise IntakeError("unknown_partner", f"No active partner uses RabbitMQ user {user_id}.")
    return partner_id


def parse_envelope(message: AbstractIncomingMessage, partner_id: str) -> Submission:
    """The submission a message describes; IntakeError names what is missing or malformed."""
    headers = dict(message.headers or {})
    if not message.message_id:
        raise IntakeError("missing_message_id", "The message_id property is required.")
    if not message.content_type:
        raise IntakeError("missing_content_type", "The content_type property is required.")
    application_id = _header(headers, "x-application-id")
    document_type = _header(headers, "x-document-type")
    original = _header(headers, "x-filename")
    assert application_id  # required=True guarantees the three
    assert document_type
    assert original
    filename = sanitize_filename(original)
    metadata = parse_metadata(_header(headers, "x-document-meta", required=False))
    return Submission(
        partner_id=partner_id,
        application_id=application_id,
        document_type=document_type,
        filename=filename.safe,
        original_filename=filename.original,
        declared_content_type=message.content_type,
        metadata=metadata,
        idempotency_key=message.message_id,
        channel="amqp",
        correlation_id=message.correlation_id or message.message_id,
        flags=["filename_sanitised"] if filename.sanitised else [],
    )


async def handle_submission(ctx: ServiceContext, message: AbstractIncomingMessage) -> Outcome:
    """Check and store one partner message; every failure becomes a specific rejection."""
    rejected = Rejected(message_id=message.message_id, correlation_id=message.correlation_id)
    try:
        rejected.partner_id = await partner_for_user(ctx, message.user_id)
        headers = dict(message.headers or {})
        rejected.application_id = _header(headers, "x-application-id", required=False)
        submission = parse_envelope(message, rejected.partner_id)
        rejected.filename = submission.filename
        return await submit_document(ctx, submission, as_file(message.body))
    except IntakeError as error:
        log.info("rejected message %s: %s %s", message.message_id, error.code, error.message)
        return await reject(ctx, error, rejected)


def current_message(broker: RabbitBroker) -> AbstractIncomingMessage:
    """The delivery the running handler was called for (see ``current_delivery``)."""
    return current_delivery(broker).raw_message


def submit_subscriber(broker: RabbitBroker, *, delivery_limit: int) -> RabbitSubscriber:
    """The subscriber of the intake queue (also what the AsyncAPI document describes)."""
    queue = quorum_queue(
        INTAKE_DOCUMENTS.name, INTAKE_DOCUMENTS.routing_keys[0], delivery_limit=delivery_limit
    )
    return broker.subscriber(
        queue,
        INTAKE_EXCHANGE,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        no_reply=True,
        decoder=raw_body,
        title="document.submit",
        description=SUBMIT_DESCRIPTION,
    )


def register(broker: RabbitBroker, ctx: ServiceContext) -> None:
    """Consume the intake queue; a message is acked only after its write (or rejection)."""
    subscriber = submit_subscriber(broker, delivery_limit=ctx.settings.delivery_limit)

    @subscriber
    async def on_submit(_body: bytes) -> None:
        raw = current_message(broker)  # the body with its envelope

        async def handle() -> dict[str, Any]:
            return (await handle_submission(ctx, raw)).reply()

        await handle_and_reply(broker, ctx, raw, consumer=INTAKE_DOCUMENTS, handle=handle)
