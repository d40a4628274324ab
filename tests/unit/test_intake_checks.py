"""The pure envelope checks: file names, metadata, categories, document types."""

from __future__ import annotations

import json

import pytest

from services.intake.checks import (
    IntakeError,
    check_document_type_form,
    parse_metadata,
    sanitize_filename,
)
from services.intake.document_types import check_category, check_product, document_type_flags
from shared.domain.catalog import Catalog, cached_catalog


@pytest.mark.parametrize(
    ("original", "safe"),
    [
        ("licence.pdf", "licence.pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\ops\\scan.png", "scan.png"),
        ("bad\x00name\x1b.pdf", "badname.pdf"),
        ("..hidden.pdf", "hidden.pdf"),
        ("Gewerbe\u0308.pdf", "Gewerbë.pdf"),
    ],
)
def test_filename_is_sanitised_and_original_kept(original: str, safe: str) -> None:
    filename = sanitize_filename(original)
    assert filename.safe == safe
    assert filename.original == original
    assert filename.sanitised == (safe != original)


@pytest.mark.parametrize("original", ["", "../", "\x00\x01", "/.."])
def test_filename_without_a_usable_name_is_refused(original: str) -> None:
    with pytest.raises(IntakeError) as caught:
        sanitize_filename(original)
    assert caught.value.code == "bad_filename"


def test_long_filename_is_cut() -> None:
    assert len(sanitize_filename("a" * 500 + ".pdf").safe) == 200


def test_metadata_is_checked_and_normalised() -> None:
    raw = json.dumps(
        {"issue_date": "2024-01-31", "language": "zh", "notarized": True, "year": 2023}
    )
    assert parse_metadata(raw) == {
        "issue_date": "2024-01-31",
        "language": "zh",
        "notarized": True,
        "year": 2023,
    }
    assert parse_metadata(None) == {}
    assert parse_metadata(b"") == {}


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        "[1, 2]",
        json.dumps({"issue_date": "31.01.2024"}),
        json.dumps({"colour": "blue"}),
        json.dumps({"unknown": 1}),
    ],
)
def test_malformed_metadata_is_refused(raw: str) -> None:
    with pytest.raises(IntakeError) as caught:
        parse_metadata(raw)
    assert caught.value.code == "bad_metadata"


@pytest.mark.parametrize("document_type", ["", "x", "Business Licence", "../etc", "a" * 80])
def test_malformed_document_types_are_refused(document_type: str) -> None:
    with pytest.raises(IntakeError) as caught:
        check_document_type_form(document_type)
    assert caught.value.code == "unknown_document_type"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return cached_catalog(None)


def test_catalog_categories_and_products_are_checked(catalog: Catalog) -> None:
    check_category(catalog, "food.dairy")
    check_product(catalog, "food.dairy", "milk_powder")
    check_product(catalog, "scrap.metal", None)
    for call, code in (
        (lambda: check_category(catalog, "toys.lego"), "unknown_category"),
        (lambda: check_product(catalog, "food.dairy", None), "missing_product"),
        (lambda: check_product(catalog, "food.dairy", "cheddar_sticks"), "unknown_product"),
        (lambda: check_product(catalog, "scrap.metal", "copper"), "unknown_product"),
    ):
        with pytest.raises(IntakeError) as caught:
            call()
        assert caught.value.code == code


def test_document_types_are_checked_against_the_catalog(catalog: Catalog) -> None:
    dairy = {"category": "food.dairy"}
    assert document_type_flags(catalog, dairy, "business_licence") == []
    for not_taken in ("floor_plan", "passport_scan"):  # known elsewhere / unknown anywhere
        with pytest.raises(IntakeError) as caught:
            document_type_flags(catalog, dairy, not_taken)
        assert caught.value.code == "unknown_document_type"
        assert "business_licence" in caught.value.message
