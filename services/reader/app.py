"""Composition root of the reader: consumes ``document.received``, publishes ``document.read``."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields

from services.reader.extract import ReadLimits
from services.reader.handlers import Reader, on_document_received
from services.reader.isolated import ReadingProcesses
from shared.domain.catalog import Catalog, cached_catalog
from shared.domain.events import CloudEvent
from shared.infra.consuming import subscribe_events
from shared.infra.runtime import ServiceContext, open_context
from shared.infra.settings import Settings
from shared.infra.topology import READER_DOCUMENTS

SERVICE = "reader"
log = logging.getLogger("regwatch.reader")


def photo_types(catalog: Catalog) -> frozenset[str]:
    """Document types a distinct_photos rule counts: photos, not documents to read."""
    return frozenset(
        rule.document_type
        for requirement_set in catalog.requirement_sets
        for rule in requirement_set.rules
        if rule.kind == "distinct_photos"
    )


def register(ctx: ServiceContext, reader: Reader) -> None:
    async def on_event(event: CloudEvent) -> None:
        if event.type == "document.received":
            await on_document_received(ctx, reader, event)

    subscribe_events(ctx.broker, READER_DOCUMENTS, ctx.settings, on_event)


@dataclass
class ReaderContext(ServiceContext):
    """The service context plus the reading child processes, stopped on close."""

    reader: Reader | None = None

    async def close(self) -> None:
        await super().close()
        if self.reader is not None:
            self.reader.processes.close()
            self.reader.pool.shutdown(wait=False, cancel_futures=True)


async def start(settings: Settings) -> ReaderContext:
    # Reading is CPU work: take few documents at a time and read them in a bounded pool.
    settings = settings.model_copy(update={"prefetch_count": settings.reader_prefetch})
    catalog = cached_catalog(settings.catalog_dir)
    base = await open_context(SERVICE, settings)
    reader = Reader(
        limits=ReadLimits(
            page_cap=settings.reader_page_cap,
            time_limit=settings.reader_time_limit_seconds,
            ocr_languages=settings.reader_ocr_languages,
        ),
        processes=ReadingProcesses(settings.reader_concurrency),
        pool=ThreadPoolExecutor(settings.reader_concurrency, thread_name_prefix="reader"),
        photo_types=photo_types(catalog),
        text_cap=settings.reader_text_cap,
    )
    ctx = ReaderContext(
        **{f.name: getattr(base, f.name) for f in fields(ServiceContext)}, reader=reader
    )
    register(ctx, reader)
    await ctx.start_consuming()
    return ctx


async def main(settings: Settings) -> None:
    ctx = await start(settings)
    log.info("ready: consuming %s", READER_DOCUMENTS.name)
    await ctx.run_until_stopped()
