"""The application page shows what the reader found in each document."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from services.dashboard.context import templates
from shared.domain.reading import FoundDate, NameMatch, PhotoFacts, ReadingFacts

READ_AT = datetime(2026, 11, 22, tzinfo=UTC)


def render(facts: ReadingFacts | None) -> str:
    document = SimpleNamespace(id="doc_1", facts=facts)
    template = templates.env.get_template("_facts.html")
    return template.render(doc=document, a=SimpleNamespace(id="app_1"))


def facts(**fields: object) -> ReadingFacts:
    base = {
        "_id": "doc_1",
        "application_id": "app_1",
        "sha256": "0" * 64,
        "document_type": "business_licence",
        "filename": "licence.pdf",
        "status": "read",
        "read_at": READ_AT,
    }
    return ReadingFacts.model_validate(base | fields)


def test_a_document_shows_its_language_dates_name_score_and_excerpt() -> None:
    html = render(
        facts(
            pages=1,
            ocr_pages=[1],
            language="en",
            text="Business Licence ACME Foods Ltd Valid until 1 March 2019",
            dates=[FoundDate(day=date(2019, 3, 1), label="expiry", page=1, quote="Valid until")],
            exporter=NameMatch(exporter="ACME Foods Ltd", found="ACME Foods Ltd", score=100),
        )
    )
    assert "language en" in html
    assert "expiry 2019-03-01 (p1)" in html
    assert "names 'ACME Foods Ltd' (score 100)" in html.replace("&#39;", "'")
    assert "(OCR: 1)" in html
    assert "Valid until 1 March 2019" in html


def test_a_photo_shows_its_thumbnail_hash_and_sharpness() -> None:
    photo = PhotoFacts(phash="8fc1e11efc3cc0e1", sharpness=812.4, width=320, height=320)
    html = render(facts(pages=1, photo=photo))
    assert "/applications/app_1/documents/doc_1/content" in html
    assert "phash 8fc1e11efc3cc0e1" in html
    assert "sharpness 812" in html


def test_unread_and_unreadable_documents_say_so() -> None:
    assert "being read" in render(None)
    unreadable = render(facts(status="unreadable", reason="the PDF cannot be opened: EOF"))
    assert "unreadable" in unreadable
    assert "the PDF cannot be opened" in unreadable


def test_text_read_from_a_file_is_escaped() -> None:
    html = render(facts(pages=1, text="<script>alert(1)</script>"))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
