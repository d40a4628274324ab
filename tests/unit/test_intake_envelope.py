"""Parsing the AMQP envelope of a submission: properties and headers, before any I/O."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from services.intake.amqp import parse_envelope
from services.intake.checks import IntakeError


def message(**changes: Any) -> Any:
    values: dict[str, Any] = {
        "message_id": "m-1",
        "content_type": "application/pdf",
        "correlation_id": "c-1",
        "headers": {
            "x-application-id": "app_1",
            "x-document-type": "business_licence",
            "x-filename": b"sub/dir/licence.pdf",
            "x-document-meta": json.dumps({"language": "zh"}),
        },
    }
    headers = {**values["headers"], **changes.pop("headers", {})}
    values["headers"] = {k: v for k, v in headers.items() if v is not None}
    return SimpleNamespace(**{**values, **changes})


def test_envelope_becomes_a_submission() -> None:
    submission = parse_envelope(message(), "ptn_1")
    assert submission.partner_id == "ptn_1"
    assert submission.application_id == "app_1"
    assert submission.idempotency_key == "m-1"
    assert submission.filename == "licence.pdf"
    assert submission.original_filename == "sub/dir/licence.pdf"
    assert submission.flags == ["filename_sanitised"]
    assert submission.metadata == {"language": "zh"}
    assert submission.channel == "amqp"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"message_id": None}, "missing_message_id"),
        ({"message_id": ""}, "missing_message_id"),
        ({"content_type": None}, "missing_content_type"),
        ({"headers": {"x-application-id": None}}, "missing_header"),
        ({"headers": {"x-document-type": "  "}}, "missing_header"),
        ({"headers": {"x-filename": None}}, "missing_header"),
        ({"headers": {"x-application-id": 7}}, "bad_header"),
        ({"headers": {"x-document-meta": "[]"}}, "bad_metadata"),
        ({"headers": {"x-filename": "\x00"}}, "bad_filename"),
    ],
)
def test_bad_envelopes_are_refused_with_their_code(changes: dict[str, Any], code: str) -> None:
    with pytest.raises(IntakeError) as caught:
        parse_envelope(message(**changes), "ptn_1")
    assert caught.value.code == code
