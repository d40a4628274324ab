"""Document facts from what was read: text, language, dates, numbers, the exporter's name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.reader.extract import Extraction
from services.reader.language import detect_language
from services.reader.names import match_exporter
from shared.domain.reading import ReadingFacts, chinese_share, find_dates, find_numbers


def reading_facts(
    extraction: Extraction,
    *,
    document: dict[str, Any],
    exporter: str | None,
    text_cap: int,
    read_at: datetime,
    seconds: float,
) -> ReadingFacts:
    """The facts to store for ``document`` (a ``documents`` record)."""
    base: dict[str, Any] = {
        "_id": document["_id"],
        "application_id": document["application_id"],
        "sha256": document["sha256"],
        "document_type": document["document_type"],
        "filename": document.get("filename", document["_id"]),
        "read_at": read_at,
        "seconds": round(seconds, 3),
    }
    if extraction.unreadable is not None:
        return ReadingFacts.model_validate(
            base | {"status": "unreadable", "reason": extraction.unreadable}
        )
    pages = [page.strip() for page in extraction.pages]
    text = "\n\n".join(pages)
    return ReadingFacts.model_validate(
        base
        | {
            "status": "read",
            "pages": extraction.page_count,
            "pages_read": len(pages),
            "ocr_pages": extraction.ocr_pages,
            "limits": extraction.limits,
            "text": text[:text_cap],
            "text_truncated": len(text) > text_cap,
            "language": detect_language(text),
            "chinese_share": chinese_share(text),
            "dates": find_dates(pages),
            "numbers": find_numbers(text),
            "exporter": match_exporter(exporter, pages) if exporter and text else None,
            "photo": extraction.photo,
        }
    )
