"""The reader's handler: a received document is read once, its facts stored and announced."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from services.reader.extract import ReadLimits
from services.reader.facts import reading_facts
from services.reader.isolated import ReadingProcesses
from services.reader.store import already_read, record_facts
from shared.domain.events import CloudEvent, DocumentReceived
from shared.infra.db import blobs
from shared.infra.runtime import ServiceContext

log = logging.getLogger("regwatch.reader")


@dataclass
class Reader:
    """What reading needs besides the context: limits, child processes that read (killed at
    the time limit), a bounded pool for the rest of the CPU work, and the document types
    that are photos (their pixels are measured, their text not read)."""

    limits: ReadLimits
    processes: ReadingProcesses
    pool: ThreadPoolExecutor
    photo_types: frozenset[str]
    text_cap: int


async def on_document_received(ctx: ServiceContext, reader: Reader, event: CloudEvent) -> None:
    received = DocumentReceived.model_validate(event.data)
    if await already_read(ctx, received.document_id):
        return
    document = await ctx.db["documents"].find_one({"_id": received.document_id})
    if document is None:
        log.warning("event %s names unknown document %s", event.id, received.document_id)
        return
    application = await ctx.db["applications"].find_one(
        {"_id": received.application_id}, {"exporter.name": 1}
    )
    exporter = ((application or {}).get("exporter") or {}).get("name")
    # GridFS cannot join a transaction: the bytes are read before it (they never change).
    stream = await blobs(ctx.db).open_download_stream(document["blob_id"])
    data = await stream.read()
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    extraction = await loop.run_in_executor(
        reader.pool,
        lambda: reader.processes.read(
            data,
            received.content_type,
            reader.limits,
            ocr_images=received.document_type not in reader.photo_types,
        ),
    )
    facts = await loop.run_in_executor(
        reader.pool,
        lambda: reading_facts(
            extraction,
            document=document,
            exporter=exporter,
            text_cap=reader.text_cap,
            read_at=ctx.clock.now(),
            seconds=time.monotonic() - started,
        ),
    )
    if await record_facts(ctx, facts, event, partner_id=received.partner_id):
        log.info(
            "read %s: %s, %d pages, language %s%s",
            facts.document_id,
            facts.status,
            facts.pages,
            facts.language,
            f" ({facts.reason})" if facts.reason else "",
        )
