"""Loading the catalog: the shipped files load; broken files name file, path and field."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from shared.domain.catalog import (
    CatalogError,
    default_catalog_dir,
    document_types_for,
    load_catalog,
)


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(default_catalog_dir(), target)
    return target


def test_shipped_catalog_loads_with_its_version() -> None:
    catalog = load_catalog()
    assert catalog.version == "2026.12.2"
    assert len(catalog.digest) == 64
    assert set(catalog.regimes) == {"aqsiq_scrap", "gacc_decree_248", "gacc_decree_280"}


def test_every_rule_and_regime_carries_a_source() -> None:
    catalog = load_catalog()
    for regime in catalog.regimes.values():
        assert regime.source
        assert regime.windows.renewal.source
    for requirement_set in catalog.requirement_sets:
        for rule in requirement_set.rules:
            assert rule.source.strip(), rule.id


@pytest.mark.parametrize(
    ("category", "on", "regime"),
    [
        ("scrap.metal", date(2015, 1, 1), "aqsiq_scrap"),
        ("scrap.wood", date(2020, 12, 31), "aqsiq_scrap"),
        ("scrap.wood", date(2021, 1, 1), None),
        ("food.dairy", date(2021, 12, 31), None),
        ("food.dairy", date(2022, 1, 1), "gacc_decree_248"),
        ("food.other", date(2026, 5, 31), "gacc_decree_248"),
        ("food.meat", date(2026, 6, 1), "gacc_decree_280"),
        ("food.health_foods", date(2040, 1, 1), "gacc_decree_280"),
    ],
)
def test_regime_is_chosen_by_date(category: str, on: date, regime: str | None) -> None:
    found = load_catalog().regime_for(category, on)
    assert (found.id if found else None) == regime


def test_regime_windows_follow_the_sources() -> None:
    regimes = load_catalog().regimes
    scrap = regimes["aqsiq_scrap"].windows
    assert (scrap.additional_materials_days, scrap.rectification_days) == (30, 30)
    assert scrap.renewal.closes_months_before_expiry == 6
    assert scrap.on_missed["rectification"] == "failed"
    decree_248 = regimes["gacc_decree_248"].windows
    assert decree_248.validity_years == 5
    assert (
        decree_248.renewal.opens_months_before_expiry,
        decree_248.renewal.closes_months_before_expiry,
    ) == (6, 3)
    assert decree_248.processing_days is not None
    assert (decree_248.processing_days.min, decree_248.processing_days.max) == (10, 30)
    assert regimes["gacc_decree_280"].windows.renewal.automatic is True


def test_document_types_for_a_category_are_those_its_rules_name() -> None:
    assert document_types_for("food.other") == {
        "application_form",
        "business_licence",
        "compliance_declaration",
        "power_of_attorney",
        "chinese_translation",
        "renewal_application_form",
        "commercial_certificate",
    }
    assert {"ccic_certificate", "facility_photo", "certificate_copy"} <= document_types_for(
        "scrap.metal"
    )
    assert "recommendation_letter" in document_types_for("food.dairy")


def _break(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "regimes.yaml",
            "closes_months_before_expiry: 6\n",
            "closes_months_before_expiry: six\n",
            "regimes.yaml: regimes[0].windows.renewal.closes_months_before_expiry:",
        ),
        (
            "requirements/scrap.yaml",
            "        min: 11\n",
            "        min: 11\n        minimum: 11\n",
            "requirements/scrap.yaml: requirement_sets[0].rules[5].minimum: Extra inputs",
        ),
        (
            "requirements/scrap.yaml",
            "document_type: floor_plan\n",
            "document_type: floor_plans\n",
            "requirements/scrap.yaml: requirement_sets[0].rules[6].document_type: unknown document type 'floor_plans'",
        ),
        (
            "requirements/food.yaml",
            "kind: translation\n",
            "kind: translated\n",
            "requirements/food.yaml: requirement_sets[0].rules[4]:",
        ),
        (
            "regimes.yaml",
            "rectification: failed\n",
            "rectification: doomed\n",
            "regimes.yaml: regimes[0].windows.on_missed.rectification: 'doomed' is no lifecycle status",
        ),
        (
            "regimes.yaml",
            "in_force_from: 2026-06-01",
            "in_force_from: 2026-05-01",
            "regimes.yaml: regimes[2].in_force_from: overlaps gacc_decree_248",
        ),
        (
            "regimes.yaml",
            "announced_on: 2020-11-24",
            "announced_on: 2021-01-01",
            "regimes.yaml: regimes[0]: Value error, a closure is announced on or before the",
        ),
        (
            "regimes.yaml",
            'categories: ["food.*"]\n    in_force_from: 2026-06-01',
            'categories: ["food.*", "scrap.*"]\n    in_force_from: 2026-06-01',
            "regimes.yaml: regimes[0].closure: a later regime covers scrap.",
        ),
        (
            "categories.yaml",
            "{id: food.casings,",
            "{id: food.meat,",
            "categories.yaml: categories[7].id: 'food.meat' is already defined in categories.yaml",
        ),
        ("catalog.yaml", 'version: "2026.12.2"', "version: ''", "catalog.yaml: version:"),
        ("requirements/common.yaml", "rules:", "rules: [", "requirements/common.yaml: line"),
    ],
)
def test_invalid_catalog_is_refused_naming_file_path_and_field(
    catalog_copy: Path, file: str, old: str, new: str, expected: str
) -> None:
    _break(catalog_copy / file, old, new)
    with pytest.raises(CatalogError) as raised:
        load_catalog(catalog_copy)
    assert str(raised.value).startswith(expected), str(raised.value)


def test_missing_catalog_file_is_named(catalog_copy: Path) -> None:
    (catalog_copy / "requirements" / "food.yaml").unlink()
    with pytest.raises(CatalogError, match=r"^requirements/food.yaml: file not found"):
        load_catalog(catalog_copy)
