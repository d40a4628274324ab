"""Property-based: whatever headers, metadata, file names and bodies a partner sends, the
intake parser and content checks either accept or refuse with a specific error code; they
never crash. Line breaks and bidi controls never reach a stored name or metadata, accepted
numbers fit BSON, and through the real broker every message is answered."""

from __future__ import annotations

import io
import json
import unicodedata
from types import SimpleNamespace
from typing import Any

import bson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake.amqp import parse_envelope
from services.intake.checks import IntakeError, parse_metadata, sanitize_filename
from services.intake.content import inspect_content
from tests.security.hostile_input import (
    ENVELOPE_CODES,
    accepted_or_refused,
    assert_one_clean_line,
    hostile_text,
    metadata_strategy,
)

CONTENT_CODES = {
    "empty_body",
    "too_large",
    "unsupported_type",
    "content_type_mismatch",
    "corrupt_file",
    "encrypted_pdf",
    "pdf_too_complex",
    "polyglot_file",
    "image_too_large",
}

# What an AMQP header table can carry: strings, bytes, numbers, booleans, nested tables.
header_values = st.recursive(
    st.none() | st.text() | st.binary(max_size=64) | st.integers() | st.floats() | st.booleans(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=10,
)
metadata_keys = st.sampled_from(
    [
        "issue_date",
        "expiry_date",
        "language",
        "year",
        "material",
        "translation_of",
        "notarized",
        "colour",
        "$ne",
        "x",
    ]
)


def message(headers: dict[str, Any], message_id: Any, content_type: Any) -> Any:
    return SimpleNamespace(
        headers=headers,
        message_id=message_id,
        content_type=content_type,
        correlation_id=None,
        user_id="partner",
        body=b"",
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.dictionaries(
        st.sampled_from(
            ["x-application-id", "x-document-type", "x-filename", "x-document-meta", "other"]
        ),
        header_values,
    ),
    message_id=st.none() | st.text(max_size=40),
    content_type=st.none() | st.text(max_size=40),
)
def test_arbitrary_envelopes_are_parsed_or_refused_specifically(
    headers: dict[str, Any], message_id: Any, content_type: Any
) -> None:
    submission = accepted_or_refused(
        lambda: parse_envelope(message(headers, message_id, content_type), "ptn_test")
    )
    if isinstance(submission, IntakeError):
        assert submission.code in ENVELOPE_CODES, submission.code
        assert submission.message
        return
    assert submission.application_id
    assert submission.document_type
    assert submission.filename
    assert "/" not in submission.filename
    assert "\\" not in submission.filename


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_sanitised_file_names_are_safe_or_refused(original: str) -> None:
    name = accepted_or_refused(lambda: sanitize_filename(original))
    if isinstance(name, IntakeError):
        assert name.code == "bad_filename"
        return
    assert name.original == original
    safe = name.safe
    assert safe
    assert len(safe) <= 200
    assert "/" not in safe
    assert "\\" not in safe
    assert not any(ord(c) < 32 or ord(c) == 127 for c in safe)
    assert not safe.startswith(".")


@settings(max_examples=300)
@given(st.dictionaries(metadata_keys, json_values, max_size=5) | json_values)
def test_arbitrary_metadata_json_is_checked_or_refused(value: Any) -> None:
    raw = json.dumps(value)
    parsed = accepted_or_refused(lambda: parse_metadata(raw))
    if isinstance(parsed, IntakeError):
        assert parsed.code == "bad_metadata"
        return
    assert isinstance(parsed, dict)
    assert not any(key.startswith("$") for key in parsed)  # no operator reaches a query


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(
        st.binary(max_size=2048),
        st.binary(max_size=512).map(lambda b: b"%PDF-1.7\n" + b),
        st.binary(max_size=512).map(lambda b: b"\x89PNG\r\n\x1a\n" + b),
        st.binary(max_size=512).map(lambda b: b"\xff\xd8\xff\xe0" + b),
        st.binary(max_size=512).map(lambda b: b"II*\x00" + b),
    ),
    declared=st.sampled_from(
        ["application/pdf", "image/png", "image/jpeg", "image/tiff", "text/plain", ""]
    ),
)
def test_arbitrary_bodies_are_accepted_or_refused_specifically(body: bytes, declared: str) -> None:
    facts = accepted_or_refused(
        lambda: inspect_content(
            io.BytesIO(body), declared, max_bytes=1024 * 1024, max_pixels=10_000_000
        )
    )
    if isinstance(facts, IntakeError):
        assert facts.code in CONTENT_CODES, facts.code
        return
    assert facts.size == len(body)
    assert facts.content_type == declared


hostile_metadata = metadata_strategy(max_depth=200_000)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    filename=hostile_text,
    application_id=hostile_text,
    document_type=hostile_text,
    metadata=st.none() | hostile_metadata,
    message_id=hostile_text,
)
def test_hostile_strings_reach_no_stored_name_or_metadata_with_line_breaks_or_bidi(
    filename: str, application_id: str, document_type: str, metadata: str | None, message_id: str
) -> None:
    headers = {
        "x-filename": filename,
        "x-application-id": application_id,
        "x-document-type": document_type,
        "x-document-meta": metadata,
    }
    submission = accepted_or_refused(
        lambda: parse_envelope(message(headers, message_id, "application/pdf"), "ptn_test")
    )
    if isinstance(submission, IntakeError):
        assert submission.code in ENVELOPE_CODES, submission.code
        return
    assert_one_clean_line(submission.filename)
    assert unicodedata.is_normalized("NFC", submission.filename)
    assert submission.original_filename == filename.strip()  # kept for display, as sent
    for value in submission.metadata.values():
        if isinstance(value, str):
            assert_one_clean_line(value)
    bson.encode(submission.metadata)  # an accepted number fits BSON's 64 bits


@settings(max_examples=100, deadline=None)
@given(hostile_metadata)
def test_huge_numbers_deep_nesting_and_long_text_in_metadata_are_refused_specifically(
    raw: str,
) -> None:
    parsed = accepted_or_refused(lambda: parse_metadata(raw))
    if isinstance(parsed, IntakeError):
        assert parsed.code == "bad_metadata"
        assert parsed.message
        return
    bson.encode(parsed)
    assert parsed.get("year") is None or 1900 <= parsed["year"] <= 2200
