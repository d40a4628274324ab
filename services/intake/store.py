"""Accepting a checked document: GridFS bytes, document record and outbox, in one transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from services.intake.checks import IntakeError
from shared.db import blobs
from shared.events import DocumentReceived, DocumentRejected, ErrorItem, new_event
from shared.models import DocumentRecord, new_id
from shared.outbox import in_transaction, outbox_entry
from shared.runtime import ServiceContext

SERVICE = "intake"


@dataclass
class Submission:
    """One document as a partner sent it, its envelope already parsed."""

    partner_id: str
    application_id: str
    document_type: str
    filename: str
    original_filename: str
    declared_content_type: str
    metadata: dict[str, Any]
    idempotency_key: str | None
    channel: Literal["amqp", "http"]
    correlation_id: str | None = None


@dataclass
class Outcome:
    status: Literal["accepted", "duplicate", "rejected"]
    document_id: str | None = None
    errors: list[ErrorItem] = field(default_factory=list)
    event_id: str | None = None

    def reply(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "document_id": self.document_id,
            "errors": [e.model_dump() for e in self.errors],
        }


async def find_duplicate(
    ctx: ServiceContext, submission: Submission, sha256: str | None
) -> str | None:
    """The id of a document this submission repeats (same key, or same content), if any."""
    documents = ctx.db["documents"]
    if submission.idempotency_key:
        existing = await documents.find_one(
            {"partner_id": submission.partner_id, "idempotency_key": submission.idempotency_key},
            {"_id": 1},
        )
        if existing:
            return str(existing["_id"])
    if sha256:
        existing = await documents.find_one(
            {"application_id": submission.application_id, "sha256": sha256}, {"_id": 1}
        )
        if existing:
            return str(existing["_id"])
    return None


async def check_application(ctx: ServiceContext, submission: Submission) -> dict[str, Any]:
    """The application the submission is for; it must exist and belong to the partner."""
    application = await ctx.db["applications"].find_one({"_id": submission.application_id})
    if application is None:
        raise IntakeError(
            "unknown_application", f"There is no application {submission.application_id}."
        )
    if application["partner_id"] != submission.partner_id:
        # Same answer as for a missing one: a partner learns nothing of others' applications.
        raise IntakeError(
            "unknown_application", f"There is no application {submission.application_id}."
        )
    return application


async def store_document(
    ctx: ServiceContext, submission: Submission, body: bytes, content_type: str
) -> Outcome:
    """Store bytes, record and ``document.received`` together; duplicates store nothing."""
    sha256 = hashlib.sha256(body).hexdigest()
    duplicate = await find_duplicate(ctx, submission, sha256)
    if duplicate:
        return Outcome("duplicate", document_id=duplicate)
    now = ctx.clock.now()
    record = DocumentRecord(
        _id=new_id("doc"),
        application_id=submission.application_id,
        partner_id=submission.partner_id,
        document_type=submission.document_type,
        filename=submission.filename,
        original_filename=submission.original_filename,
        declared_content_type=submission.declared_content_type,
        content_type=content_type,
        size=len(body),
        sha256=sha256,
        blob_id=ObjectId(),
        metadata=submission.metadata,
        idempotency_key=submission.idempotency_key,
        channel=submission.channel,
        received_at=now,
    )
    event = new_event(
        "document.received",
        DocumentReceived(
            document_id=record.id,
            application_id=record.application_id,
            partner_id=record.partner_id,
            document_type=record.document_type,
            filename=record.filename,
            content_type=content_type,
            size=record.size,
            sha256=sha256,
            metadata=record.metadata,
            received_at=now,
        ),
        service=SERVICE,
        time=now,
        subject=record.application_id,
        correlation_id=submission.correlation_id,
    )

    # GridFS cannot join a transaction: the bytes go first, then record and outbox entry
    # commit together. If that commit fails the bytes are removed again.
    await blobs(ctx.db).upload_from_stream_with_id(
        record.blob_id,
        record.filename,
        body,
        metadata={"document_id": record.id, "content_type": content_type},
    )

    async def write(session: AsyncClientSession) -> None:
        await ctx.db["documents"].insert_one(record.to_mongo(), session=session)
        await ctx.db["outbox"].insert_one(outbox_entry(event, now), session=session)

    try:
        await in_transaction(ctx.client, write)
    except DuplicateKeyError:
        # Another copy of this message won the race: same document, nothing new.
        await blobs(ctx.db).delete(record.blob_id)
        again = await find_duplicate(ctx, submission, sha256)
        return Outcome("duplicate", document_id=again)
    except BaseException:
        await blobs(ctx.db).delete(record.blob_id)
        raise
    await ctx.relay.publish(event.id)
    return Outcome("accepted", document_id=record.id, event_id=event.id)


async def record_rejection(
    ctx: ServiceContext,
    error: IntakeError,
    *,
    partner_id: str | None,
    application_id: str | None,
    message_id: str | None,
    filename: str | None,
    correlation_id: str | None,
) -> Outcome:
    """Publish ``document.rejected`` (through the outbox) and build the rejection."""
    now = ctx.clock.now()
    errors = [ErrorItem(code=error.code, message=error.message)]
    event = new_event(
        "document.rejected",
        DocumentRejected(
            partner_id=partner_id,
            application_id=application_id,
            message_id=message_id,
            filename=filename,
            errors=errors,
        ),
        service=SERVICE,
        time=now,
        subject=application_id,
        correlation_id=correlation_id,
        # One rejection event per partner message, however often it is redelivered.
        event_id=f"rejected:{partner_id}:{message_id}" if message_id else None,
    )
    await ctx.db["outbox"].update_one(
        {"_id": event.id}, {"$setOnInsert": outbox_entry(event, now)}, upsert=True
    )
    await ctx.relay.publish(event.id)
    return Outcome("rejected", errors=errors, event_id=event.id)
