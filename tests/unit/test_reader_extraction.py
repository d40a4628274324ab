"""The reader on real files: text layers, OCR'd scans (real Tesseract), Chinese, photos."""

from __future__ import annotations

import dataclasses
from datetime import date

from services.reader.photos import photo_facts
from tests import reader_files as files
from tests.reader_support import LIMITS, read_file


def test_a_pdf_text_layer_is_read_without_ocr_with_dates_numbers_and_the_exporter() -> None:
    facts = read_file(
        files.text_pdf(
            [
                "ACME Recycling GmbH",
                "Business Registration No. DE-4471203",
                "Issued on 2016-04-05",
                "Valid until 1 March 2019",
            ]
        ),
        "application/pdf",
    )
    assert facts.status == "read"
    assert facts.pages == 1
    assert facts.ocr_pages == []
    assert facts.language == "en"
    assert [(d.day, d.label) for d in facts.dates] == [
        (date(2016, 4, 5), "issue"),
        (date(2019, 3, 1), "expiry"),
    ]
    assert facts.dates[1].quote == "Valid until 1 March 2019"
    assert "DE-4471203" in facts.numbers
    assert facts.exporter is not None
    assert facts.exporter.score >= 95


def test_a_scan_without_text_layer_is_read_by_tesseract() -> None:
    facts = read_file(
        files.scan_pdf(["Tax Registration", "ACME Recycling GmbH", "Valid until 30 June 2021"]),
        "application/pdf",
    )
    assert facts.ocr_pages == [1]
    assert "Tax Registration" in facts.text
    assert (date(2021, 6, 30), "expiry") in [(d.day, d.label) for d in facts.dates]


def test_a_chinese_scan_reads_as_chinese_with_its_chinese_dates() -> None:
    facts = read_file(
        files.png(
            files.scan_image(
                ["营业执照", "上海回收有限公司", "有效期至 2024年3月1日 止"], chinese=True
            )
        ),
        "image/png",
    )
    assert facts.language == "zh"
    assert facts.chinese_share > 0.8
    assert (date(2024, 3, 1), "expiry") in [(d.day, d.label) for d in facts.dates]


def test_a_chinese_text_layer_reads_as_chinese() -> None:
    facts = read_file(
        files.text_pdf(["营业执照", "签发日期 2023年1月5日"], chinese=True), "application/pdf"
    )
    assert facts.language == "zh"
    assert facts.ocr_pages == []
    assert [(d.day, d.label) for d in facts.dates] == [(date(2023, 1, 5), "issue")]


def test_a_blank_page_is_read_and_has_no_text() -> None:
    facts = read_file(files.blank_pdf(), "application/pdf")
    assert facts.status == "read"
    assert facts.pages == 1
    assert facts.text == ""
    assert facts.language is None
    assert facts.exporter is None


def test_a_corrupt_pdf_is_unreadable_with_the_reason() -> None:
    facts = read_file(files.corrupt_pdf(), "application/pdf")
    assert facts.status == "unreadable"
    assert facts.reason is not None
    assert facts.reason.startswith("the PDF cannot be opened")


def test_pages_beyond_the_cap_are_not_read_and_the_facts_say_so() -> None:
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for text in ("first page text layer", "second page text layer", "third page text layer"):
        writer.add_page(PdfReader(io.BytesIO(files.text_pdf([text]))).pages[0])
    buffer = io.BytesIO()
    writer.write(buffer)
    facts = read_file(
        buffer.getvalue(), "application/pdf", limits=dataclasses.replace(LIMITS, page_cap=2)
    )
    assert facts.pages == 3
    assert facts.pages_read == 2
    assert facts.limits == ["page cap: 2 of 3 pages read"]
    assert "third" not in facts.text


def test_a_document_past_its_time_limit_stops_and_the_facts_say_so() -> None:
    facts = read_file(
        files.scan_pdf(["Tax Registration"]),
        "application/pdf",
        limits=dataclasses.replace(LIMITS, time_limit=0),
    )
    assert facts.status == "read"
    assert facts.pages_read == 0
    assert facts.limits
    assert facts.limits[0].startswith("time limit")


def test_near_duplicate_photos_hash_close_and_different_photos_far_apart() -> None:
    first, second = files.photo(1), files.photo(2)
    hashes = [
        int(photo_facts(image).phash, 16) for image in (first, files.near_duplicate(first), second)
    ]
    assert (hashes[0] ^ hashes[1]).bit_count() <= 8
    assert (hashes[0] ^ hashes[2]).bit_count() > 8


def test_a_blurred_photo_measures_far_less_sharp() -> None:
    image = files.photo(3)
    assert photo_facts(files.blurred(image)).sharpness < 20 < photo_facts(image).sharpness


def test_photos_are_measured_but_not_ocr_read() -> None:
    facts = read_file(files.jpeg(files.photo(4)), "image/jpeg", ocr_images=False)
    assert facts.photo is not None
    assert facts.ocr_pages == []
    assert facts.text == ""
