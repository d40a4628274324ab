"""Each rule kind on its own: file type and size, metadata, dates, counts, colour facts."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image

from shared.domain.catalog import cached_catalog
from shared.domain.catalog.rules import DateRule, FileType, MetadataFields, RequiredDocument
from shared.domain.evaluation import evaluate, fingerprint, is_colour_image
from shared.domain.evaluation.context import CheckContext
from shared.domain.evaluation.date_checks import check_dates
from shared.domain.evaluation.document_checks import (
    check_file_type,
    check_metadata_fields,
    check_required_document,
)
from shared.domain.evaluation.inputs import ApplicationFacts, Documents
from tests.unit.applications_for_rules import (
    NOW,
    application,
    document,
    scrap_renewal,
    scrap_renewal_documents,
)


def context(documents: list[dict], submitted: date = date(2019, 6, 1)) -> CheckContext:
    app = ApplicationFacts.from_record(application("scrap.metal", "new", submitted), NOW)
    return CheckContext(cached_catalog(), None, app, Documents.from_records(documents))


@pytest.mark.parametrize(
    ("content_type", "size", "passed", "words"),
    [
        ("application/pdf", 10, True, "Every document concerned"),
        ("image/gif", 10, False, "is image/gif; accepted: application/pdf"),
        ("application/pdf", 2000, False, "is 2000 bytes; at most 1000"),
    ],
)
def test_file_type_and_size(content_type: str, size: int, passed: bool, words: str) -> None:
    rule = FileType(
        id="t", kind="file_type", source="s", content_types=["application/pdf"], max_bytes=1000
    )
    result = check_file_type(rule, context([document("floor_plan", content_type, size=size)]))
    assert result.passed is passed
    assert words in result.message


def test_photos_must_be_images_not_pdfs() -> None:
    documents = [d for d in scrap_renewal_documents() if d["document_type"] != "facility_photo"]
    documents += [document("facility_photo", "application/pdf") for _ in range(11)]
    outcome = evaluate(cached_catalog(), scrap_renewal(), documents, NOW).outcome(
        "photos_are_images"
    )
    assert not outcome.passed
    assert len(outcome.missing) == 11


@pytest.mark.parametrize(
    ("metadata", "missing"),
    [
        ({"year": 2018, "material": "metal"}, []),
        ({"year": 2018}, ["material"]),
        ({}, ["year", "material"]),
    ],
)
def test_required_metadata_fields(metadata: dict, missing: list[str]) -> None:
    rule = MetadataFields(
        id="m",
        kind="metadata_fields",
        source="s",
        document_types=["ccic_certificate"],
        fields=["year", "material"],
    )
    doc = document("ccic_certificate", **metadata)
    result = check_metadata_fields(rule, context([doc]))
    assert result.passed is (not missing)
    if missing:
        assert result.message == f"{doc['filename']} lacks metadata {', '.join(missing)}"


@pytest.mark.parametrize(
    ("metadata", "passed", "words"),
    [
        ({"expiry_date": "2019-06-01", "issue_date": "2017-01-01"}, True, "within its dates"),
        (
            {"expiry_date": "2019-05-31", "issue_date": "2017-01-01"},
            False,
            "expired on 2019-05-31, before submission on 2019-06-01",
        ),
        ({"issue_date": "2017-01-01"}, False, "declares no expiry_date"),
        (
            {"expiry_date": "2020-01-01", "issue_date": "2016-05-31"},
            False,
            "must be issued after 2016-06-01 (within 3 years)",
        ),
        ({"expiry_date": "2020-01-01"}, False, "declares no issue_date"),
    ],
)
def test_date_rules_not_expired_and_issued_within_years(
    metadata: dict, passed: bool, words: str
) -> None:
    rule = DateRule(
        id="d",
        kind="date",
        source="s",
        document_types=["business_registration"],
        not_expired=True,
        issued_within_years=3,
    )
    result = check_dates(rule, context([document("business_registration", **metadata)]))
    assert result.passed is passed
    assert words in result.message


@pytest.mark.parametrize(("count", "passed"), [(0, False), (1, True), (2, False)])
def test_required_document_with_min_and_max(count: int, passed: bool) -> None:
    rule = RequiredDocument(
        id="r", kind="required_document", source="s", document_type="floor_plan", min=1, max=1
    )
    result = check_required_document(rule, context([document("floor_plan") for _ in range(count)]))
    assert result.passed is passed
    if count == 2:
        assert (
            result.message == "2 floor plans received, at most 1 allowed: withdraw the extra ones"
        )


def _image(mode: str, fill: object, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (64, 64), fill).save(buffer, format=fmt)  # type: ignore[arg-type]
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "colour"),
    [
        (_image("RGB", (200, 30, 40)), True),
        (_image("RGB", (200, 30, 40), "JPEG"), True),
        (_image("L", 128), False),
        (_image("RGB", (90, 90, 90)), False),
        (_image("RGB", (90, 90, 90), "JPEG"), False),
        (b"%PDF-1.7 not an image", None),
    ],
)
def test_greyscale_images_are_detected(data: bytes, colour: bool | None) -> None:
    assert is_colour_image(data) is colour


def test_fingerprint_changes_with_inputs_and_catalog_version_only() -> None:
    catalog = cached_catalog()
    app = scrap_renewal()
    documents = scrap_renewal_documents()
    first = fingerprint(catalog, app, documents)
    assert fingerprint(catalog, dict(app), list(reversed(documents))) == first
    assert fingerprint(catalog, {**app, "status": "accepted"}, documents) != first
    assert fingerprint(catalog, app, documents[:-1]) != first


def test_evaluation_is_pure_and_repeatable() -> None:
    app, documents = scrap_renewal(), scrap_renewal_documents()
    assert evaluate(cached_catalog(), app, documents, NOW) == evaluate(
        cached_catalog(), app, documents, NOW
    )
