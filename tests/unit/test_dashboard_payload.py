"""Dead letters read by people: the error split from its reason, the payload described safely."""

from __future__ import annotations

import io
import json

from PIL import Image

from services.dashboard.payload import describe_payload, first_page_picture
from shared.app.dead_letters import readable_headers, split_reason
from shared.domain.search_terms import name_terms
from tests.support import sample_pdf


def scanned_pdf() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 400), (250, 250, 240)).save(out, format="PDF")
    return out.getvalue()


def test_consumer_reason_splits_into_exception_type_and_message() -> None:
    assert split_reason("ValueError: bad date: 2026-02-30") == (
        "ValueError",
        "bad date: 2026-02-30",
    )
    assert split_reason("pymongo.errors.WriteError: no") == ("pymongo.errors.WriteError", "no")


def test_broker_reason_is_explained_and_free_text_kept() -> None:
    assert split_reason("rejected") == (None, split_reason("rejected")[1])
    assert "refused it at once" in str(split_reason("rejected")[1])
    assert split_reason("not a CloudEvent: missing id") == (None, "not a CloudEvent: missing id")
    assert split_reason(None) == (None, None)


def test_json_string_headers_are_pretty_printed_with_their_meaning() -> None:
    lines = readable_headers({"x-document-meta": json.dumps({"language": "en"}), "x-n": 3})
    meta = next(h for h in lines if h.name == "x-document-meta")
    assert meta.value == '{\n  "language": "en"\n}'
    assert meta.meaning
    assert next(h for h in lines if h.name == "x-n").value == "3"


def test_pdf_is_described_by_its_bytes_not_its_declared_type() -> None:
    preview = describe_payload(sample_pdf("x", pages=2), "text/plain")
    assert (preview.kind, preview.media_type, preview.pages) == ("pdf", "application/pdf", 2)
    assert preview.declared_type == "text/plain"
    assert not preview.has_picture


def test_pdf_with_javascript_is_flagged_and_never_shown_as_text_to_run() -> None:
    hostile = sample_pdf("y").replace(
        b"/Producer", b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >> /Producer"
    )
    preview = describe_payload(hostile, "application/pdf")
    assert "/JavaScript" in preview.active_content
    assert "/OpenAction" in preview.active_content


def test_scanned_first_page_becomes_a_png_made_by_pillow() -> None:
    body = scanned_pdf()
    assert describe_payload(body, "application/pdf").has_picture
    picture = first_page_picture(body)
    assert picture is not None
    assert picture.startswith(b"\x89PNG")


def test_damaged_pdf_and_binary_are_described_not_parsed_further() -> None:
    damaged = describe_payload(b"%PDF-1.7\n garbage", "application/pdf")
    assert damaged.kind == "pdf"
    assert first_page_picture(b"%PDF-1.7\n garbage") is None
    binary = describe_payload(bytes(range(256)) * 4, None)
    assert binary.kind == "binary"
    assert binary.truncated
    assert binary.text
    assert binary.text.startswith("00000000  00 01 02")


def test_json_body_is_pretty_printed() -> None:
    preview = describe_payload(b'{"specversion":"1.0","id":"e1"}', "application/json")
    assert preview.kind == "json"
    assert '"id": "e1"' in str(preview.text)


def test_name_terms_are_casefolded_distinct_words() -> None:
    assert name_terms("Nordic Scrap AB, NORDIC") == ["ab", "nordic", "scrap"]
    assert name_terms("Østersjø Fisk") == ["fisk", "østersjø"]
    assert name_terms(None) == []
