"""Seed 001 and Decrees 248/280: new food applications and renewals, for every category."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.domain.catalog import cached_catalog
from shared.domain.evaluation import evaluate
from tests.unit.applications_for_rules import (
    NOW,
    application,
    document,
    food_new_documents,
    food_renewal_documents,
)
from tests.unit.categories import ARTICLE_7


def run(app: dict, documents: list[dict]):
    return evaluate(cached_catalog(), app, documents, NOW)


def dairy_renewal(submitted: date, valid_until: date) -> dict:
    return application(
        "food.dairy",
        "renewal",
        submitted,
        product="infant_formula",
        registration_number="CIFM0123456789",
        registration_valid_until=datetime.combine(valid_until, datetime.min.time(), UTC),
    )


@pytest.mark.parametrize("category", ARTICLE_7)
@pytest.mark.parametrize("submitted", [date(2023, 3, 1), date(2026, 7, 1)])
def test_article_7_new_application_complete_with_recommendation(
    category: str, submitted: date
) -> None:
    result = run(application(category, "new", submitted), food_new_documents(high_risk=True))
    assert result.verdict == "complete", result.missing
    assert result.regime == ("gacc_decree_248" if submitted.year == 2023 else "gacc_decree_280")


@pytest.mark.parametrize("category", ARTICLE_7)
def test_article_7_new_application_without_recommendation_is_incomplete(category: str) -> None:
    result = run(
        application(category, "new", date(2023, 3, 1)), food_new_documents(high_risk=False)
    )
    assert result.verdict == "incomplete"
    assert result.missing == [
        "recommendation letter of the home authority (1 required)",
        "review and inspection report of the home authority (1 required)",
    ]


def test_self_registered_food_needs_no_recommendation() -> None:
    assert (
        run(
            application("food.other", "new", date(2024, 1, 1)), food_new_documents(high_risk=False)
        ).verdict
        == "complete"
    )


def test_an_agent_also_sends_a_power_of_attorney() -> None:
    app = application("food.other", "new", date(2024, 1, 1), via_agent=True)
    result = run(app, food_new_documents(high_risk=False))
    assert result.outcome("power_of_attorney").missing == ["power of attorney (1 required)"]
    with_power = food_new_documents(high_risk=False) + [
        document("power_of_attorney", language="en")
    ]
    assert run(app, with_power).verdict == "complete"


def test_food_documents_in_a_third_language_need_a_chinese_translation() -> None:
    documents = food_new_documents(high_risk=False)
    documents[2]["metadata"]["language"] = "fr"
    outcome = run(application("food.other", "new", date(2024, 1, 1)), documents).outcome(
        "chinese_or_english"
    )
    assert not outcome.passed
    assert "is in 'fr'" in outcome.message


def test_food_before_decree_248_has_no_regime() -> None:
    result = run(application("food.dairy", "new", date(2021, 6, 1)), food_new_documents())
    assert result.verdict == "refused"
    assert (
        result.outcome("regime_in_force").message
        == "No regime covers food.dairy on 2021-06-01 (filing)"
    )


@pytest.mark.parametrize(
    ("submitted", "passed", "message"),
    [
        (date(2025, 6, 30), True, "inside the renewal window 2025-06-30 to 2025-09-30"),
        (date(2025, 9, 30), True, "inside the renewal window"),
        (date(2025, 8, 1), True, "inside the renewal window"),
        (
            date(2025, 6, 29),
            True,
            "before the renewal window opens on 2025-06-30 (6 months before expiry on 2025-12-31)"
            ": the application waits",
        ),
        (
            date(2025, 10, 1),
            False,
            "after the renewal window closed on 2025-09-30 (3 months before expiry on 2025-12-31)",
        ),
        (date(2026, 1, 5), False, "after the renewal window closed"),
    ],
)
def test_decree_248_dairy_renewal_inside_and_outside_its_window(
    submitted: date, passed: bool, message: str
) -> None:
    result = run(dairy_renewal(submitted, date(2025, 12, 31)), food_renewal_documents())
    outcome = result.outcome("renewal_window")
    assert result.regime == "gacc_decree_248"
    assert outcome.passed is passed
    assert message in outcome.message
    assert result.verdict == ("complete" if passed else "refused")
    assert result.waits_until == (date(2025, 6, 30) if submitted < date(2025, 6, 30) else None)


def test_a_renewal_filed_too_early_waits_for_the_opening_day_and_is_not_refused() -> None:
    result = run(dairy_renewal(date(2025, 1, 10), date(2025, 12, 31)), food_renewal_documents())
    assert result.verdict == "complete"
    assert result.waits_until == date(2025, 6, 30)
    assert not any(o.refuses for o in result.outcomes)


@pytest.mark.parametrize(
    ("filed", "regime"),
    [(date(2026, 4, 1), "gacc_decree_248"), (date(2026, 6, 15), "gacc_decree_280")],
)
def test_a_renewal_falls_under_the_regime_in_force_on_its_filing_date(
    filed: date, regime: str
) -> None:
    result = run(dairy_renewal(filed, date(2026, 9, 30)), food_renewal_documents())
    assert result.regime == regime
    assert result.outcome("renewal_window").passed


@pytest.mark.parametrize(
    "missing_type", ["renewal_application_form", "commercial_certificate", "compliance_declaration"]
)
def test_each_seed_001_renewal_document_is_required(missing_type: str) -> None:
    documents = [d for d in food_renewal_documents() if d["document_type"] != missing_type]
    result = run(dairy_renewal(date(2025, 8, 1), date(2025, 12, 31)), documents)
    assert result.verdict == "incomplete"
    assert len(result.missing) == 1
    assert result.missing[0].endswith("(1 required)")


def test_an_unknown_dairy_product_is_refused() -> None:
    app = application("food.dairy", "new", date(2023, 1, 1), product="chocolate")
    result = run(app, food_new_documents())
    assert result.verdict == "refused"
    assert result.outcomes[0].message.startswith(
        "'chocolate' is no product of food.dairy; known: raw_milk"
    )


def test_an_unknown_category_is_refused_not_crashed() -> None:
    result = run(application("food.candy", "new", date(2023, 1, 1)), [])
    assert result.verdict == "refused"
    assert [o.rule for o in result.outcomes] == ["category"]
