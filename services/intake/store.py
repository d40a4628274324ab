"""Accepting a checked document: GridFS bytes, then the record and its event in one unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from services.intake.blobs import IN_TRANSACTION_BYTES, blob_writes, put_blob
from services.intake.checks import IntakeError
from services.intake.content import ContentFacts
from shared.domain.events import DocumentReceived, DocumentRejected, ErrorItem, new_event
from shared.domain.models import DocumentRecord, new_id
from shared.infra.db import blobs
from shared.infra.runtime import ServiceContext
from shared.infra.unit_of_work import UnitOfWork

# Rejection event ids derive from (partner, message id): one event per refused message.
REJECTION_NAMESPACE = uuid.UUID("5b7e4c1e-2f0a-4d8e-9a51-3c6f0e8d2b17")
Channel = Literal["amqp", "http"]


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
    channel: Channel
    correlation_id: str | None = None
    flags: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """The answer to one submission, as the partner receives it.

    ``document``: the stored record (the one just written, or the one a duplicate repeats),
    so that an answer showing it needs no read.
    """

    status: Literal["accepted", "duplicate", "rejected"]
    document_id: str | None = None
    errors: list[ErrorItem] = field(default_factory=list)
    event_id: str | None = None
    document: dict[str, Any] | None = None

    def reply(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "document_id": self.document_id,
            "errors": [e.model_dump() for e in self.errors],
        }


async def find_duplicate(
    ctx: ServiceContext, submission: Submission, sha256: str | None
) -> dict[str, Any] | None:
    """The stored document this submission repeats (same key, or same content), if any.

    The same key with other bytes is a partner's mistake, refused rather than guessed at.
    """
    documents = ctx.db["documents"]
    if submission.idempotency_key:
        existing = await documents.find_one(
            {"partner_id": submission.partner_id, "idempotency_key": submission.idempotency_key}
        )
        if existing:
            if sha256 and existing["sha256"] != sha256:
                raise IntakeError(
                    "idempotency_key_reused",
                    f"The key {submission.idempotency_key!r} was already used for document "
                    f"{existing['_id']} with other content: use a new key for a new file.",
                )
            return existing
    if sha256:
        return await documents.find_one(
            {"application_id": submission.application_id, "sha256": sha256}
        )
    return None


def _document_record(
    submission: Submission, facts: ContentFacts, received_at: Any
) -> DocumentRecord:
    return DocumentRecord(
        _id=new_id("doc"),
        application_id=submission.application_id,
        partner_id=submission.partner_id,
        document_type=submission.document_type,
        filename=submission.filename,
        original_filename=submission.original_filename,
        declared_content_type=submission.declared_content_type,
        content_type=facts.content_type,
        size=facts.size,
        sha256=facts.sha256,
        blob_id=ObjectId(),
        metadata=submission.metadata,
        idempotency_key=submission.idempotency_key,
        channel=submission.channel,
        flags=submission.flags,
        received_at=received_at,
    )


async def store_document(
    ctx: ServiceContext, submission: Submission, source: BinaryIO, facts: ContentFacts
) -> Outcome:
    """Store bytes, record and ``document.received``; a duplicate stores nothing.

    Duplicates are found by the unique indexes when the record is inserted, not looked up
    before: two round trips fewer for every new document. Bytes, record and outbox entry
    go in one command, then the commit (``services.intake.blobs``).
    """
    # Milliseconds, as MongoDB keeps them: the record in hand is the record stored.
    now = ctx.clock.now()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    record = _document_record(submission, facts, now)
    event = new_event(
        "document.received",
        DocumentReceived(
            document_id=record.id,
            application_id=record.application_id,
            partner_id=record.partner_id,
            document_type=record.document_type,
            filename=record.filename,
            content_type=record.content_type,
            size=record.size,
            sha256=record.sha256,
            metadata=record.metadata,
            received_at=now,
        ),
        service=ctx.service,
        time=now,
        subject=record.application_id,
        correlation_id=submission.correlation_id,
    )
    blob: dict[str, Any] = {
        "blob_id": record.blob_id,
        "filename": record.filename,
        "source": source,
        "metadata": {
            "document_id": record.id,
            "content_type": record.content_type,
            "uploaded_at": now,
        },
        "uploaded_at": now,
    }
    # A file of a few megabytes commits with its record and event: one command and the
    # commit; a duplicate leaves nothing behind. A larger file's bytes go first; if the
    # commit fails they are removed, and if the process dies in between, the orphan sweep
    # removes them later.
    with_record = facts.size <= IN_TRANSACTION_BYTES
    if with_record:
        writes = blob_writes(**blob)
    else:
        await put_blob(ctx.client, ctx.db, **blob)
        writes = []
    stored = record.to_mongo()

    async def write(uow: UnitOfWork) -> None:
        for collection, document in writes:
            uow.insert(collection, document)
        uow.insert("documents", stored)
        uow.stage(event, partner_id=record.partner_id)

    try:
        await ctx.unit_of_work(write)
    except DuplicateKeyError:
        # An earlier copy of this submission (same key, or same content) is stored already.
        if not with_record:
            await blobs(ctx.db).delete(record.blob_id)
        again = await find_duplicate(ctx, submission, facts.sha256)
        return Outcome("duplicate", document_id=again["_id"] if again else None, document=again)
    except BaseException:
        if not with_record:
            await blobs(ctx.db).delete(record.blob_id)
        raise
    return Outcome("accepted", document_id=record.id, event_id=event.id, document=stored)


@dataclass
class Rejected:
    """What is known of a rejected submission (possibly little: the envelope may be bad)."""

    partner_id: str | None = None
    application_id: str | None = None
    message_id: str | None = None
    filename: str | None = None
    correlation_id: str | None = None


async def record_rejection(ctx: ServiceContext, error: IntakeError, rejected: Rejected) -> Outcome:
    """Publish ``document.rejected`` (through the outbox, once) and build the rejection."""
    now = ctx.clock.now()
    errors = [ErrorItem(code=error.code, message=error.message)]
    event = new_event(
        "document.rejected",
        DocumentRejected(
            partner_id=rejected.partner_id,
            application_id=rejected.application_id,
            message_id=rejected.message_id,
            filename=rejected.filename,
            errors=errors,
        ),
        service=ctx.service,
        time=now,
        subject=rejected.application_id,
        correlation_id=rejected.correlation_id,
        # One rejection event per partner message, however often it is redelivered.
        event_id=(
            str(uuid.uuid5(REJECTION_NAMESPACE, f"{rejected.partner_id}:{rejected.message_id}"))
            if rejected.message_id
            else None
        ),
    )

    async def write(uow: UnitOfWork) -> None:
        uow.stage(event, partner_id=rejected.partner_id)

    try:
        await ctx.unit_of_work(write)
    except DuplicateKeyError:
        pass  # a redelivery of a refused message: its event is in the outbox already
    return Outcome("rejected", errors=errors, event_id=event.id)
