"""Each content rule fails and passes on the right real files, quoting its evidence."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from shared.domain.catalog import load_catalog
from shared.domain.evaluation import Evaluation, evaluate
from tests import reader_files as files
from tests.reader_support import with_reading
from tests.unit.applications_for_rules import NOW, document, scrap_renewal

EXPORTER = {"name": "ACME Recycling GmbH", "country": "DE"}


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog()


def renewal(catalog: Any, documents: list[dict[str, Any]]) -> Evaluation:
    application = scrap_renewal(date(2019, 3, 1), exporter=EXPORTER)
    return evaluate(catalog, application, documents, NOW, reader_on=True)


def registration(lines: list[str], **metadata: Any) -> dict[str, Any]:
    record = document("business_registration", language="de", notarized=True, **metadata)
    return with_reading(record, files.text_pdf(lines))


def test_a_date_the_text_contradicts_is_a_warning_quoting_the_page(catalog: Any) -> None:
    wrong = registration(
        ["ACME Recycling GmbH", "Valid until 1 March 2019"], expiry_date="2020-03-01"
    )
    evaluation = renewal(catalog, [wrong])
    result = evaluation.outcome("registration_dates_read")
    assert not result.passed
    assert result.warning
    assert "page 1 reads 'Valid until 1 March 2019'; the metadata says expiry_date 2020-03-01" in (
        result.message
    )
    assert result.message in evaluation.warnings
    assert result.message not in evaluation.missing  # advice, not a missing item


def test_a_text_showing_expiry_before_filing_fails_the_dates(catalog: Any) -> None:
    expired = registration(["ACME Recycling GmbH", "Valid until 1 January 2019"])
    result = renewal(catalog, [expired]).outcome("registration_dates_read")
    assert not result.passed
    assert "expired before the filing date 2019-03-01" in result.message


def test_dates_that_agree_pass(catalog: Any) -> None:
    good = registration(
        ["ACME Recycling GmbH", "Issued on 2016-04-05", "Valid until 1 March 2030"],
        expiry_date="2030-03-01",
        issue_date="2016-04-05",
    )
    assert renewal(catalog, [good]).outcome("registration_dates_read").passed


def test_a_chinese_translation_that_reads_english_blocks(catalog: Any) -> None:
    record = document("chinese_translation", language="zh", translation_of="doc_x")
    english = with_reading(record, files.text_pdf(["Business registration of ACME Recycling"]))
    evaluation = renewal(catalog, [english])
    result = evaluation.outcome("translations_read_chinese")
    assert not result.passed
    assert not result.warning
    assert "should be Chinese but reads as English (0% Chinese)" in result.message
    assert evaluation.verdict == "incomplete"
    assert result.message in evaluation.missing


def test_a_chinese_translation_scanned_in_chinese_passes(catalog: Any) -> None:
    record = document("chinese_translation", "image/png", language="zh", translation_of="doc_x")
    chinese = with_reading(
        record, files.png(files.scan_image(["营业执照", "上海回收有限公司"], chinese=True))
    )
    assert renewal(catalog, [chinese]).outcome("translations_read_chinese").passed


def test_a_registration_naming_another_company_warns_with_the_score(catalog: Any) -> None:
    other = registration(["Globex Metals Ltd", "Business Registration"])
    result = renewal(catalog, [other]).outcome("documents_name_exporter")
    assert not result.passed
    assert result.warning
    assert "does not name the exporter 'ACME Recycling GmbH'" in result.message
    assert "score" in result.message


def test_a_registration_naming_the_exporter_passes_with_the_score(catalog: Any) -> None:
    named = registration(["ACME Recycling GmbH.", "Business Registration"])
    result = renewal(catalog, [named]).outcome("documents_name_exporter")
    assert result.passed
    assert "(score 100)" in result.message


def certificate_copy(number: str) -> dict[str, Any]:
    record = document("certificate_copy", "image/png", facts={"colour": True})
    scan = files.scan_image(["AQSIQ Registration Certificate", "ACME Recycling GmbH", number])
    return with_reading(record, files.png(scan))


def test_a_certificate_copy_without_the_renewed_number_warns(catalog: Any) -> None:
    result = renewal(catalog, [certificate_copy("No. AQSIQ-B999999999")]).outcome(
        "documents_name_exporter"
    )
    assert not result.passed
    assert "does not show the registration number AQSIQ-A123456789" in result.message


def test_a_certificate_copy_with_the_renewed_number_passes(catalog: Any) -> None:
    result = renewal(catalog, [certificate_copy("No. AQSIQ-A123456789")]).outcome(
        "documents_name_exporter"
    )
    assert result.passed
    assert "shows AQSIQ-A123456789" in result.message


def ccic(lines: list[str]) -> dict[str, Any]:
    record = document("ccic_certificate", year=2017, material="metal", issue_date="2017-06-01")
    return with_reading(record, files.text_pdf(lines))


def test_a_ccic_certificate_of_another_year_warns(catalog: Any) -> None:
    wrong = ccic(["CCIC Pre-shipment Inspection Certificate", "Metal scrap", "Date: 2018-06-01"])
    result = renewal(catalog, [wrong]).outcome("ccic_certificates_read")
    assert not result.passed
    assert result.warning
    assert "declared 2017 metal but its text does not show the year 2017" in result.message
    assert "years read: 2018" in result.message


def test_a_ccic_certificate_showing_its_year_and_material_passes(catalog: Any) -> None:
    good = ccic(["CCIC Pre-shipment Inspection Certificate", "Metal scrap", "Date: 2017-06-01"])
    assert renewal(catalog, [good]).outcome("ccic_certificates_read").passed


def photos(images: list[Any]) -> list[dict[str, Any]]:
    records = []
    for image in images:
        record = document("facility_photo", "image/jpeg", facts={"colour": True})
        records.append(with_reading(record, files.jpeg(image), ocr_images=False))
    return records


def test_eleven_copies_are_not_eleven_photos(catalog: Any) -> None:
    sharp = [files.photo(seed) for seed in range(9)]
    near = files.near_duplicate(sharp[0])
    evaluation = renewal(catalog, photos([*sharp, near, files.blurred(files.photo(99))]))
    result = evaluation.outcome("distinct_facility_photos")
    assert not result.passed
    assert not result.warning
    assert result.message.startswith("9 distinct, sharp facility photos of 11 received")
    assert "looks like" in result.message
    assert "is blurry" in result.message
    assert "2 more distinct facility photos (more than 10 required)" in evaluation.missing


def test_eleven_distinct_sharp_photos_pass(catalog: Any) -> None:
    result = renewal(catalog, photos([files.photo(seed) for seed in range(11)])).outcome(
        "distinct_facility_photos"
    )
    assert result.passed
    assert result.message.startswith("11 distinct, sharp facility photos")


def test_a_blocking_content_rule_waits_for_facts_and_the_verdict_is_not_complete(
    catalog: Any,
) -> None:
    read = photos([files.photo(seed) for seed in range(10)])
    unread = document("facility_photo", "image/jpeg", facts={"colour": True})
    evaluation = renewal(catalog, [*read, unread])
    result = evaluation.outcome("distinct_facility_photos")
    assert not result.passed
    assert result.waiting_for == [unread["_id"]]
    assert result.message.startswith("Still being read:")
    assert evaluation.verdict != "complete"
    assert evaluation.reading == [unread["_id"]]
    assert sorted(evaluation.facts_used) == sorted(d["_id"] for d in read)


def test_an_unreadable_file_makes_the_rule_say_it_could_not_check(catalog: Any) -> None:
    record = document("business_registration", language="de", notarized=True)
    corrupt = with_reading(record, files.corrupt_pdf())
    result = renewal(catalog, [corrupt]).outcome("registration_dates_read")
    assert not result.passed
    assert result.warning
    assert result.message.startswith("Could not check:")
    assert "is unreadable" in result.message


def test_without_the_reader_no_content_rule_applies(catalog: Any) -> None:
    application = scrap_renewal(date(2019, 3, 1), exporter=EXPORTER)
    evaluation = evaluate(catalog, application, [], NOW)
    kinds = {o.kind for o in evaluation.outcomes}
    assert not kinds & {"distinct_photos", "content_language", "content_dates"}
    assert evaluation.reading == []
    assert evaluation.facts_used == []
