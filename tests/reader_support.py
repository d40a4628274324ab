"""Reading a real file the way the reader service does, without the broker or database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.reader.extract import ReadLimits, extract
from services.reader.facts import reading_facts
from shared.domain.reading import ReadingFacts

LIMITS = ReadLimits(page_cap=10, time_limit=60, ocr_languages="eng+chi_sim")
READ_AT = datetime(2026, 11, 21, tzinfo=UTC)


def read_file(
    data: bytes,
    content_type: str,
    *,
    document: dict[str, Any] | None = None,
    exporter: str | None = "ACME Recycling GmbH",
    limits: ReadLimits = LIMITS,
    ocr_images: bool = True,
) -> ReadingFacts:
    """The facts the reader would record for ``data``."""
    record = document or {
        "_id": "doc_1",
        "application_id": "app_1",
        "sha256": "0" * 64,
        "document_type": "business_registration",
        "filename": "file",
    }
    extraction = extract(data, content_type, limits, ocr_images=ocr_images)
    return reading_facts(
        extraction, document=record, exporter=exporter, text_cap=20_000, read_at=READ_AT, seconds=0
    )


def with_reading(record: dict[str, Any], data: bytes, **options: Any) -> dict[str, Any]:
    """``record`` (a stored document dict) with the facts read from ``data`` attached."""
    facts = read_file(
        data, record["content_type"], document={"application_id": "app_1"} | record, **options
    )
    return record | {"reading": facts.model_dump(mode="python", by_alias=True)}
