"""``regwatch demo`` reads at 80 columns; ``--wide`` keeps every id whole."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

from rich.console import Console

from services.cli.demo import Receipt, SampleDocument, print_outcome
from shared.domain.models import new_id

APPLICATION = new_id("app")
DOCUMENT = new_id("doc")


def render(wide: bool) -> str:
    sample = SampleDocument(
        "ccic_certificate", "ccic_certificate_of_inspection_2026.pdf", b"", "application/pdf"
    )
    receipts = [Receipt(APPLICATION, "amqp", sample, "accepted", DOCUMENT)]
    result = SimpleNamespace(
        verdict="complete",
        catalog_version="2026.11.1",
        outcomes=[SimpleNamespace(passed=True, rule="documents.present", message="")],
    )
    results: dict[str, Any] = {APPLICATION: ("scrap", result)}
    console = Console(width=160 if wide else 80, record=True, file=io.StringIO())
    print_outcome(console, receipts, results, wide)
    return console.export_text()


def test_demo_output_fits_80_columns_with_short_ids_and_whole_file_names() -> None:
    text = render(wide=False)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert f"{APPLICATION[:12]}…" in text
    assert f"{DOCUMENT[:12]}…" in text
    assert APPLICATION not in text
    assert ".pdf" in text
    assert text.count("…") == 2  # the file name wrapped, never cut
    assert "--wide or --json" in text


def test_wide_demo_output_shows_full_ids() -> None:
    text = render(wide=True)
    assert APPLICATION in text
    assert DOCUMENT in text
