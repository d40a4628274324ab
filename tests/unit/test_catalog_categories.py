"""Every category of the public contract, with its regime and its required documents."""

from __future__ import annotations

from datetime import date

import pytest

from shared.domain.catalog import UnknownCategory
from shared.domain.catalog import cached_catalog as load_catalog
from tests.unit.categories import ARTICLE_7, SCRAP


def test_categories_are_exactly_the_public_ids() -> None:
    assert set(load_catalog().categories) == {*SCRAP, *ARTICLE_7, "food.other"}
    assert len(ARTICLE_7) == 18


def test_dairy_lists_the_product_types_of_seed_001() -> None:
    products = load_catalog().products_for("food.dairy")
    # Seed 001 has 19 entries with "Fermented milk" twice: 18 distinct product types.
    assert len(products) == len(set(products)) == 18
    assert {
        "raw_milk",
        "infant_formula",
        "ice_cream",
        "dairy_over_30_percent",
        "fermented_milk",
    } <= set(products)


@pytest.mark.parametrize("category", SCRAP)
@pytest.mark.parametrize("kind", ["new", "renewal"])
def test_scrap_categories_have_rules_before_the_ban_and_none_after(
    category: str, kind: str
) -> None:
    catalog = load_catalog()
    regime = catalog.regime_for(category, date(2019, 1, 1))
    assert regime is not None
    assert regime.id == "aqsiq_scrap"
    rules = {r.id for r in catalog.rules_for(regime.id, category, kind)}
    assert {"facility_photos", "floor_plan", "business_registration"} <= rules
    assert catalog.regime_for(category, date(2021, 1, 1)) is None
    assert "China has banned" in (
        catalog.ended_regime_for(category, date(2021, 1, 1)).closed_reason or ""
    )


@pytest.mark.parametrize("category", ARTICLE_7)
@pytest.mark.parametrize("regime", ["gacc_decree_248", "gacc_decree_280"])
def test_article_7_categories_need_the_home_authority_recommendation(
    category: str, regime: str
) -> None:
    rules = {r.id for r in load_catalog().rules_for(regime, category, "new")}
    assert {
        "recommendation_letter",
        "inspection_report",
        "application_form",
        "business_licence",
    } <= rules


@pytest.mark.parametrize("regime", ["gacc_decree_248", "gacc_decree_280"])
def test_self_registered_foods_need_no_recommendation(regime: str) -> None:
    rules = {r.id for r in load_catalog().rules_for(regime, "food.other", "new")}
    assert "recommendation_letter" not in rules
    assert {
        "application_form",
        "business_licence",
        "compliance_declaration",
        "power_of_attorney",
    } <= rules


@pytest.mark.parametrize("category", [*ARTICLE_7, "food.other"])
def test_food_renewals_need_the_seed_001_documents(category: str) -> None:
    rules = {r.id for r in load_catalog().rules_for("gacc_decree_248", category, "renewal")}
    assert {
        "renewal_application_form",
        "commercial_certificate",
        "registration_details",
        "renewal_window",
    } <= rules


def test_unknown_category_names_the_known_ones() -> None:
    with pytest.raises(
        UnknownCategory, match="unknown category 'food.candy'; known categories: food.aquatic"
    ):
        load_catalog().category("food.candy")
