"""One path for every channel: check a parsed submission, then store or reject it."""

from __future__ import annotations

import asyncio
from typing import BinaryIO

from services.intake.applications import unknown_application
from services.intake.checks import IntakeError
from services.intake.content import quick_checks, quick_to_read, thorough_checks
from services.intake.document_types import catalog_of, document_type_flags
from services.intake.lookups import lookups_of
from services.intake.store import Outcome, Rejected, Submission, record_rejection, store_document
from shared.infra.runtime import ServiceContext


async def submit_document(ctx: ServiceContext, submission: Submission, source: BinaryIO) -> Outcome:
    """Check ``submission`` against its application and its bytes, then store it.

    Raises IntakeError for anything the partner must fix; nothing is stored then.
    """
    application = await lookups_of(ctx).application(
        partner_id=submission.partner_id, application_id=submission.application_id
    )
    if application is None:
        raise unknown_application(submission.application_id)
    catalog = catalog_of(ctx.settings)
    submission.flags += document_type_flags(catalog, application, submission.document_type)
    # Cheap checks first; they refuse most bad files before anything is parsed.
    sniffed = quick_checks(
        source, submission.declared_content_type, max_bytes=ctx.settings.max_document_bytes
    )
    max_pixels = ctx.settings.max_image_pixels
    if quick_to_read(source, sniffed):
        facts = thorough_checks(source, sniffed, max_pixels=max_pixels)
    else:
        # Parsing a large PDF or decoding an image is CPU work: keep the event loop free.
        facts = await asyncio.to_thread(thorough_checks, source, sniffed, max_pixels=max_pixels)
    submission.flags += list(facts.flags)
    return await store_document(ctx, submission, source, facts)


async def reject(ctx: ServiceContext, error: IntakeError, rejected: Rejected) -> Outcome:
    """Answer a submission with ``error``: ``document.rejected`` and nothing stored."""
    return await record_rejection(ctx, error, rejected)
