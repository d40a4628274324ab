"""The reader's hard time limit: reading runs in a child process that is killed at the
limit (Tesseract with it), and the pages read before are kept."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator

import pytest
from pypdf import PdfReader, PdfWriter

from services.reader.extract import ReadLimits
from services.reader.isolated import ReadingProcess
from tests.reader_files import scan_pdf, text_pdf

FIRST = ["Business Registration Certificate", "ACME Recycling GmbH, Hamburg"]
SECOND = ["Tax Registration", "Valid until 1 March 2027"]
# A full page of text for Tesseract with both models: well over a second of OCR.
DENSE_SCAN = [f"Line {n}: Certificate of Inspection for imported scrap material" for n in range(40)]


def joined(*pdfs: bytes) -> bytes:
    writer = PdfWriter()
    for pdf in pdfs:
        writer.append(PdfReader(io.BytesIO(pdf)))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.fixture
def process() -> Iterator[ReadingProcess]:
    reading = ReadingProcess()
    yield reading
    reading.stop()


def group_gone(pgid: int, within: float = 5.0) -> bool:
    """Whether no process of the group is left (killed ones are reaped by init shortly)."""
    ends = time.monotonic() + within
    while time.monotonic() < ends:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_page_past_the_time_limit_is_killed_and_the_pages_before_it_kept(
    process: ReadingProcess,
) -> None:
    roomy = ReadLimits(page_cap=10, time_limit=60, ocr_languages="eng+chi_sim")
    warm = process.read(text_pdf(FIRST), "application/pdf", roomy, ocr_images=True)
    assert warm.limits == []
    assert "ACME Recycling" in warm.pages[0]
    child = process.pid
    assert child is not None

    # Tesseract is given at least a second by pytesseract: only the kill stops it sooner.
    tiny = ReadLimits(page_cap=10, time_limit=0.5, ocr_languages="eng+chi_sim")
    document = joined(text_pdf(FIRST), text_pdf(SECOND), scan_pdf(DENSE_SCAN))
    started = time.monotonic()
    found = process.read(document, "application/pdf", tiny, ocr_images=True)
    elapsed = time.monotonic() - started

    assert elapsed < 0.9
    assert found.page_count == 3
    assert len(found.pages) == 2
    assert "ACME Recycling" in found.pages[0]
    assert "Valid until" in found.pages[1]
    assert found.limits == ["time limit: 0.5 s reached after 2 pages"]
    assert process.pid is None
    assert group_gone(child)  # the child and its Tesseract are gone


def test_the_next_document_after_a_kill_is_read_by_a_new_child(process: ReadingProcess) -> None:
    tiny = ReadLimits(page_cap=10, time_limit=0.3, ocr_languages="eng+chi_sim")
    cut = process.read(scan_pdf(DENSE_SCAN), "application/pdf", tiny, ocr_images=True)
    assert cut.pages == []
    assert cut.limits == ["time limit: 0.3 s reached after 0 pages"]

    roomy = ReadLimits(page_cap=10, time_limit=60, ocr_languages="eng")
    found = process.read(scan_pdf(SECOND), "application/pdf", roomy, ocr_images=True)
    assert found.limits == []
    assert found.ocr_pages == [1]
    assert "Valid until" in found.pages[0]
