"""``regwatch demo`` reads at 80 columns; ``--wide`` keeps every id whole; a mismatch the
reader caught is singled out; the demo waits until the validation saw every document."""

from __future__ import annotations

import io
from datetime import date

from rich.console import Console

from services.cli.demo import Outcome, Receipt, print_outcome, settled
from services.cli.demo_samples import SampleDocument
from shared.domain.evaluation.outcomes import Evaluation, RuleOutcome
from shared.domain.models import new_id

APPLICATION = new_id("app")
DOCUMENT = new_id("doc")
MISMATCH = "commercial-certificate.pdf"
CAUGHT = (
    f"{MISMATCH}: page 1 reads 'Valid until: 2027-06-30'; the metadata says expiry_date 2028-06-30"
)


def evaluation(*outcomes: RuleOutcome) -> Evaluation:
    return Evaluation(
        verdict="complete",
        outcomes=list(outcomes),
        missing=[],
        catalog_version="2026.11.1",
        catalog_digest="0" * 64,
        regime="aqsiq_scrap",
        evaluated_on=date(2026, 11, 30),
    )


def render(wide: bool, result: Evaluation) -> str:
    sample = SampleDocument(
        "ccic_certificate", "ccic_certificate_of_inspection_2026.pdf", b"", "application/pdf"
    )
    receipts = [Receipt(APPLICATION, "amqp", sample, "accepted", DOCUMENT)]
    results = {APPLICATION: Outcome("scrap", result)}
    console = Console(width=160 if wide else 80, record=True, file=io.StringIO())
    print_outcome(console, receipts, results, wide, MISMATCH)
    return console.export_text()


PRESENT = RuleOutcome(rule="documents.present", kind="required_document", passed=True, message="")


def test_demo_output_fits_80_columns_with_short_ids_and_whole_file_names() -> None:
    text = render(wide=False, result=evaluation(PRESENT))
    assert max(len(line) for line in text.splitlines()) <= 80
    assert f"{APPLICATION[:12]}…" in text
    assert f"{DOCUMENT[:12]}…" in text
    assert APPLICATION not in text
    assert ".pdf" in text
    assert text.count("…") == 2  # the file name wrapped, never cut
    assert "--wide or --json" in text
    assert "the reader is off" in text


def test_wide_demo_output_shows_full_ids() -> None:
    text = render(wide=True, result=evaluation(PRESENT))
    assert APPLICATION in text
    assert DOCUMENT in text


def test_the_mismatch_the_reader_caught_is_shown_once_apart_from_other_warnings() -> None:
    caught = RuleOutcome(
        rule="certificate_dates_read",
        kind="content_dates",
        passed=False,
        warning=True,
        message=CAUGHT,
    )
    unchecked = RuleOutcome(
        rule="translations_read_chinese",
        kind="content_language",
        passed=False,
        warning=True,
        message="Could not check: no text was found in tax_registration-zh.pdf",
    )
    text = render(wide=False, result=evaluation(PRESENT, unchecked, caught))
    assert max(len(line) for line in text.splitlines()) <= 80
    flat = " ".join(text.split())
    assert "The reader caught (certificate_dates_read): " + CAUGHT in flat
    assert flat.count("the metadata says expiry_date") == 1
    assert "WARN translations_read_chinese: Could not check" in flat
    assert "1 of 3 rules pass" in flat
    assert "the reader is off" not in flat


def test_the_demo_waits_until_the_validation_saw_every_document_and_nothing_is_read() -> None:
    sent = {"doc_a", "doc_b"}
    seen_one = {"reading": 0, "validation": {"document_ids": ["doc_a"], "reading": []}}
    seen_both = {"reading": 0, "validation": {"document_ids": ["doc_a", "doc_b"], "reading": []}}
    still_reading = {"reading": 1, "validation": {"document_ids": ["doc_a", "doc_b"]}}
    assert not settled({"reading": 0, "validation": None}, sent)
    assert not settled(seen_one, sent)
    assert not settled(still_reading, sent)
    assert settled(seen_both, sent)
