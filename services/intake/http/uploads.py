"""An HTTP upload as a submission: the same checks and store as the AMQP channel.

Starlette spools the multipart file to a temporary file (memory up to 1 MiB, then disk);
the checks and GridFS read that file in chunks, so the upload is never held twice.
"""

from __future__ import annotations

from fastapi import UploadFile

from services.intake.checks import IntakeError, parse_metadata, sanitize_filename
from services.intake.store import Outcome, Rejected, Submission
from services.intake.submit import reject, submit_document
from shared.infra.logs import correlation_id
from shared.infra.runtime import ServiceContext

MAX_IDEMPOTENCY_KEY_CHARS = 200


def http_submission(
    *,
    partner_id: str,
    application_id: str,
    upload: UploadFile | None,
    document_type: str | None,
    metadata: str | None,
    idempotency_key: str | None,
) -> Submission:
    """The submission an upload describes; IntakeError names what is missing or malformed."""
    if upload is None:
        raise IntakeError("missing_field", "The multipart field 'file' (the document) is missing.")
    if not document_type or not document_type.strip():
        raise IntakeError("missing_field", "The multipart field 'document_type' is missing.")
    if idempotency_key is not None and not (
        0 < len(idempotency_key.strip()) <= MAX_IDEMPOTENCY_KEY_CHARS
    ):
        raise IntakeError(
            "bad_header",
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters, e.g. a UUID.",
        )
    if not upload.filename:
        raise IntakeError("bad_filename", "The file part carries no file name.")
    filename = sanitize_filename(upload.filename)
    return Submission(
        partner_id=partner_id,
        application_id=application_id,
        document_type=document_type.strip(),
        filename=filename.safe,
        original_filename=filename.original,
        declared_content_type=upload.content_type or "",
        metadata=parse_metadata(metadata, field="metadata"),
        idempotency_key=idempotency_key.strip() if idempotency_key else None,
        channel="http",
        correlation_id=correlation_id.get(),
        flags=["filename_sanitised"] if filename.sanitised else [],
    )


async def receive_upload(
    ctx: ServiceContext,
    *,
    partner_id: str,
    application_id: str,
    upload: UploadFile | None,
    document_type: str | None,
    metadata: str | None,
    idempotency_key: str | None,
) -> Outcome:
    """Check and store one upload; every refusal becomes ``document.rejected``."""
    rejected = Rejected(
        partner_id=partner_id, application_id=application_id, message_id=idempotency_key
    )
    try:
        submission = http_submission(
            partner_id=partner_id,
            application_id=application_id,
            upload=upload,
            document_type=document_type,
            metadata=metadata,
            idempotency_key=idempotency_key,
        )
        assert upload is not None
        rejected.filename = submission.filename
        return await submit_document(ctx, submission, upload.file)
    except IntakeError as error:
        return await reject(ctx, error, rejected)
    finally:
        if upload is not None:
            await upload.close()
