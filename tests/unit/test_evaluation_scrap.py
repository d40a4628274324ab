"""Seed 000: scrap renewals and new scrap applications, rule by rule."""

from __future__ import annotations

from datetime import date

import pytest

from shared.domain.catalog import cached_catalog
from shared.domain.evaluation import evaluate
from tests.unit.applications_for_rules import (
    NOW,
    application,
    document,
    notarized_with_translation,
    photo,
    scrap_renewal,
    scrap_renewal_documents,
)
from tests.unit.categories import SCRAP


def run(app: dict, documents: list[dict]):
    return evaluate(cached_catalog(), app, documents, NOW)


def test_full_seed_000_renewal_list_is_complete() -> None:
    result = run(scrap_renewal(), scrap_renewal_documents())
    assert result.verdict == "complete", result.missing
    assert result.regime == "aqsiq_scrap"
    assert result.catalog_version == cached_catalog().version
    assert all(o.passed for o in result.outcomes)
    assert result.missing == []


@pytest.mark.parametrize(
    ("document_type", "rule", "message"),
    [
        (
            "e_system_account",
            "e_system_account",
            "No e-system account declaration (user name only, never the password) received, 1 required",
        ),
        (
            "business_registration",
            "business_registration",
            "No business registration document received, 1 required",
        ),
        (
            "tax_registration",
            "tax_registration",
            "No tax registration document received, 1 required",
        ),
        ("floor_plan", "floor_plan", "No floor plan received, 1 required"),
        (
            "certificate_copy",
            "certificate_copy",
            "No colour copy of the AQSIQ certificate received, 1 required",
        ),
        ("facility_photo", "facility_photos", "No facility photo received, more than 10 required"),
        (
            "ccic_certificate",
            "ccic_certificates",
            "Missing CCIC pre-shipment inspection certificate for metal in 2016",
        ),
    ],
)
def test_each_missing_renewal_item_fails_with_its_own_message(
    document_type: str, rule: str, message: str
) -> None:
    documents = [d for d in scrap_renewal_documents() if d["document_type"] != document_type]
    result = run(scrap_renewal(), documents)
    assert result.verdict == "incomplete"
    failed = [o for o in result.outcomes if not o.passed]
    assert [o.rule for o in failed] == [rule]
    assert failed[0].message.startswith(message), failed[0].message
    assert failed[0].source
    assert "seed 000" in failed[0].source


@pytest.mark.parametrize(
    ("photos", "passed"), [(0, False), (8, False), (10, False), (11, True), (40, True)]
)
def test_more_than_10_photos_means_at_least_11(photos: int, passed: bool) -> None:
    documents = [d for d in scrap_renewal_documents() if d["document_type"] != "facility_photo"]
    result = run(scrap_renewal(), documents + [photo() for _ in range(photos)])
    outcome = result.outcome("facility_photos")
    assert outcome.passed is passed
    if photos == 8:
        assert outcome.message == "8 facility photos received, more than 10 required"
        assert outcome.missing == ["3 more facility photos (more than 10 required)"]
    assert result.verdict == ("complete" if passed else "incomplete")


def test_a_missing_year_of_ccic_certificates_fails_naming_the_year() -> None:
    documents = [
        d
        for d in scrap_renewal_documents()
        if not (d["document_type"] == "ccic_certificate" and d["metadata"]["year"] == 2017)
    ]
    outcome = run(scrap_renewal(), documents).outcome("ccic_certificates")
    assert not outcome.passed
    assert outcome.missing == ["CCIC pre-shipment inspection certificate for metal in 2017"]
    assert "one per year 2016-2018 and material" in outcome.message


def test_ccic_certificates_are_needed_for_each_registered_material() -> None:
    app = scrap_renewal(materials=["copper", "aluminium"])
    documents = [d for d in scrap_renewal_documents(materials=("copper",))]
    outcome = run(app, documents).outcome("ccic_certificates")
    assert not outcome.passed
    assert outcome.missing == [
        f"CCIC pre-shipment inspection certificate for aluminium in {y}" for y in (2016, 2017, 2018)
    ]
    both = scrap_renewal_documents(materials=("copper", "aluminium"))
    assert run(app, both).verdict == "complete"


def _without_ccic() -> list[dict]:
    return [d for d in scrap_renewal_documents() if d["document_type"] != "ccic_certificate"]


def ccic(year: int, issued: str, material: str = "metal") -> dict:
    return document("ccic_certificate", year=year, material=material, issue_date=issued)


@pytest.mark.parametrize("submitted", [date(2019, 1, 1), date(2019, 3, 1), date(2019, 12, 30)])
def test_ccic_certificates_count_for_their_calendar_year_whatever_the_day_of_issue(
    submitted: date,
) -> None:
    certificates = [ccic(2016, "2016-01-02"), ccic(2017, "2017-07-15"), ccic(2018, "2018-12-31")]
    result = run(scrap_renewal(submitted=submitted), _without_ccic() + certificates)
    assert result.outcome("ccic_certificates").passed
    assert result.outcome("ccic_certificates_in_their_year").passed
    assert result.verdict == "complete", result.missing


def test_a_missing_year_for_one_material_fails_naming_year_and_material() -> None:
    app = scrap_renewal(materials=["copper", "aluminium"])
    certificates = [ccic(y, f"{y}-05-05", "copper") for y in (2016, 2017, 2018)]
    certificates += [ccic(y, f"{y}-05-05", "aluminium") for y in (2016, 2017)]
    outcome = run(app, _without_ccic() + certificates).outcome("ccic_certificates")
    assert not outcome.passed
    assert outcome.missing == ["CCIC pre-shipment inspection certificate for aluminium in 2018"]
    assert outcome.message.startswith(
        "Missing CCIC pre-shipment inspection certificate for aluminium in 2018"
    )


def test_a_ccic_certificate_of_the_filing_year_or_older_does_not_stand_in_for_a_past_year() -> None:
    certificates = [ccic(2015, "2015-12-31"), ccic(2017, "2017-06-01"), ccic(2019, "2019-01-02")]
    outcome = run(scrap_renewal(), _without_ccic() + certificates).outcome("ccic_certificates")
    assert outcome.missing == [
        "CCIC pre-shipment inspection certificate for metal in 2016",
        "CCIC pre-shipment inspection certificate for metal in 2018",
    ]


def test_a_ccic_certificate_issued_outside_the_year_it_is_sent_for_fails() -> None:
    early = ccic(2016, "2015-12-31")
    certificates = [early, ccic(2017, "2017-06-01"), ccic(2018, "2018-06-01")]
    result = run(scrap_renewal(), _without_ccic() + certificates)
    outcome = result.outcome("ccic_certificates_in_their_year")
    assert not outcome.passed
    assert outcome.message == (
        f"CCIC pre-shipment inspection certificate {early['filename']} was issued on "
        "2015-12-31, not in 2016, the year it is sent for"
    )
    assert outcome.source.startswith("regwatch:")
    assert result.verdict == "incomplete"


def test_an_untranslated_notarized_document_fails() -> None:
    kept = [d for d in scrap_renewal_documents() if d["document_type"] != "tax_registration"]
    tax = document("tax_registration", language="de", notarized=True)
    outcome = run(scrap_renewal(), kept + [tax]).outcome("chinese_translations")
    assert not outcome.passed
    assert outcome.message == (
        f"tax registration document {tax['filename']} is in 'de' and has no Chinese translation "
        f"(send a chinese_translation with translation_of={tax['_id']})"
    )
    translation = document("chinese_translation", language="zh", translation_of=tax["_id"])
    assert run(scrap_renewal(), kept + [tax, translation]).verdict == "complete"


def test_a_document_in_chinese_needs_no_translation() -> None:
    documents = [
        d
        for d in scrap_renewal_documents()
        if d["document_type"]
        not in ("tax_registration", "chinese_translation", "business_registration")
    ]
    documents += [
        document("business_registration", language="zh", notarized=True, expiry_date="2030-01-01"),
        document("tax_registration", language="zh", notarized=True),
    ]
    assert run(scrap_renewal(), documents).outcome("chinese_translations").passed


def test_a_registration_document_not_notarized_fails() -> None:
    documents = [d for d in scrap_renewal_documents() if d["document_type"] != "tax_registration"]
    tax = document("tax_registration", language="zh", notarized=False)
    outcome = run(scrap_renewal(), documents + [tax]).outcome("registrations_notarized")
    assert not outcome.passed
    assert (
        outcome.message
        == f"tax registration document {tax['filename']} is not declared notarized (metadata notarized=true)"
    )


@pytest.mark.parametrize(
    ("colour", "content_type", "declared", "passed", "words"),
    [
        (True, "image/png", None, True, "in colour"),
        (False, "image/png", None, False, "is a greyscale image; a colour copy is required"),
        (None, "image/jpeg", None, False, "could not be read"),
        (None, "application/pdf", True, True, "in colour"),
        (None, "application/pdf", None, False, "is not declared a colour copy"),
    ],
)
def test_certificate_copy_must_be_in_colour(colour, content_type, declared, passed, words) -> None:
    documents = [d for d in scrap_renewal_documents() if d["document_type"] != "certificate_copy"]
    metadata = {"colour": declared} if declared is not None else {}
    facts = {"facts": {"colour": colour}} if colour is not None else {}
    copy = document("certificate_copy", content_type, **metadata, **facts)
    outcome = run(scrap_renewal(), documents + [copy]).outcome("certificate_copy_in_colour")
    assert outcome.passed is passed
    assert words in outcome.message


@pytest.mark.parametrize(
    ("submitted", "passed"),
    [
        (date(2019, 12, 30), True),
        (date(2019, 12, 31), False),
        (date(2020, 3, 1), False),
        (date(2017, 1, 1), True),
    ],
)
def test_scrap_renewal_at_least_6_months_before_expiry(submitted: date, passed: bool) -> None:
    app = scrap_renewal(submitted=submitted, valid_until=date(2020, 6, 30))
    documents = scrap_renewal_documents(submitted_year=submitted.year)
    result = run(app, documents)
    assert result.outcome("renewal_window").passed is passed
    if not passed:
        assert result.verdict == "refused"
        assert (
            "after the renewal window closed on 2019-12-30 (6 months before expiry on 2020-06-30)"
            in result.outcome("renewal_window").message
        )


def test_scrap_renewal_needs_its_registration_details() -> None:
    app = application("scrap.metal", "renewal", date(2019, 3, 1))
    result = run(app, scrap_renewal_documents())
    assert result.outcome("registration_details").missing == [
        "The application gives no registration_number",
        "The application gives no registration_valid_until",
    ]


@pytest.mark.parametrize("category", SCRAP)
@pytest.mark.parametrize("submitted", [date(2021, 1, 1), date(2026, 11, 21)])
def test_a_scrap_application_after_2020_is_refused_with_the_ban_as_reason(
    category: str, submitted: date
) -> None:
    result = run(
        application(category, "new", submitted), [document("application_form", language="zh")]
    )
    assert result.verdict == "refused"
    assert result.regime is None
    outcome = result.outcome("regime_in_force")
    assert not outcome.passed
    assert outcome.refuses
    assert "banned all imports of solid waste since 2021-01-01" in outcome.message
    assert [o.rule for o in result.outcomes] == [
        "category",
        "regime_in_force",
        "file_type",
        "photos_are_images",
    ]


def test_a_new_scrap_application_before_the_ban_lists_what_it_lacks() -> None:
    documents = [
        document("application_form", language="zh"),
        *notarized_with_translation("business_registration"),
    ]
    result = run(application("scrap.paper", "new", date(2020, 12, 31)), documents)
    assert result.verdict == "incomplete"
    assert result.missing == [
        "tax registration document (1 required)",
        "facility photos (more than 10 required)",
        "floor plan (1 required)",
    ]
