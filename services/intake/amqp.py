"""The partner AMQP contract: ``regwatch.intake`` / ``document.submit`` -> stored document."""

from __future__ import annotations

import json
import logging
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from faststream import AckPolicy
from faststream.rabbit import RabbitBroker
from faststream.rabbit.annotations import RabbitMessage

from services.intake.checks import IntakeError, check_content, parse_metadata, sanitize_filename
from services.intake.store import (
    Outcome,
    Submission,
    check_application,
    record_rejection,
    store_document,
)
from shared.logs import correlation_id
from shared.runtime import ServiceContext
from shared.topology import INTAKE_DOCUMENTS, INTAKE_EXCHANGE, quorum_queue

log = logging.getLogger("regwatch.intake.amqp")


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
            "missing_user_id", "The user_id property is required (your RabbitMQ user)."
        )
    partner = await ctx.db["partners"].find_one({"amqp_user": user_id, "revoked": {"$ne": True}})
    if partner is None:
        raise IntakeError("unknown_partner", f"No active partner uses RabbitMQ user {user_id}.")
    return str(partner["_id"])


async def handle_submission(ctx: ServiceContext, message: AbstractIncomingMessage) -> Outcome:
    """Check and store one partner message; every failure becomes a specific rejection."""
    headers = dict(message.headers or {})
    partner_id = application_id = filename = None
    try:
        partner_id = await partner_for_user(ctx, message.user_id)
        if not message.message_id:
            raise IntakeError("missing_message_id", "The message_id property is required.")
        if not message.content_type:
            raise IntakeError("missing_content_type", "The content_type property is required.")
        application_id = _header(headers, "x-application-id")
        document_type = _header(headers, "x-document-type")
        original = _header(headers, "x-filename")
        assert application_id and document_type and original
        filename = sanitize_filename(original)
        metadata = parse_metadata(_header(headers, "x-document-meta", required=False))
        submission = Submission(
            partner_id=partner_id,
            application_id=application_id,
            document_type=document_type,
            filename=filename,
            original_filename=original,
            declared_content_type=message.content_type,
            metadata=metadata,
            idempotency_key=message.message_id,
            channel="amqp",
            correlation_id=message.correlation_id,
        )
        await check_application(ctx, submission)
        content_type = check_content(
            message.body, message.content_type, ctx.settings.max_document_bytes
        )
        return await store_document(ctx, submission, message.body, content_type)
    except IntakeError as error:
        log.info("rejected message %s: %s %s", message.message_id, error.code, error.message)
        return await record_rejection(
            ctx,
            error,
            partner_id=partner_id,
            application_id=application_id,
            message_id=message.message_id,
            filename=filename,
            correlation_id=message.correlation_id,
        )


def register(broker: RabbitBroker, ctx: ServiceContext) -> None:
    """Subscribe the intake queue; the message is acked only after the write."""
    queue = quorum_queue(
        INTAKE_DOCUMENTS.name,
        INTAKE_DOCUMENTS.routing_keys[0],
        delivery_limit=ctx.settings.delivery_limit,
    )

    @broker.subscriber(
        queue,
        INTAKE_EXCHANGE,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        no_reply=True,
        title="document.submit",
        description="A partner submits one document: the body is the file's raw bytes.",
    )
    async def on_submit(msg: RabbitMessage) -> None:
        raw: AbstractIncomingMessage = msg.raw_message
        token = correlation_id.set(raw.correlation_id or raw.message_id)
        try:
            outcome = await handle_submission(ctx, raw)
            if raw.reply_to:
                await broker.publish(
                    json.dumps(outcome.reply()).encode(),
                    routing_key=raw.reply_to,
                    correlation_id=raw.correlation_id,
                    content_type="application/json",
                )
        finally:
            correlation_id.reset(token)
