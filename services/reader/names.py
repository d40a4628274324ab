"""The exporter's name, looked for fuzzily in the lines of a document's text."""

from __future__ import annotations

from rapidfuzz import fuzz, process, utils

from shared.domain.reading import NameMatch

MIN_LINE = 3


def match_exporter(exporter: str, pages: list[str]) -> NameMatch:
    """The line that names ``exporter`` best, with its score (0-100) and page."""
    lines = [
        (number, line.strip())
        for number, text in enumerate(pages, start=1)
        for line in text.splitlines()
        if len(line.strip()) >= MIN_LINE
    ]
    if not lines:
        return NameMatch(exporter=exporter)
    best = process.extractOne(
        exporter, [line for _, line in lines], scorer=fuzz.WRatio, processor=utils.default_process
    )
    if best is None:
        return NameMatch(exporter=exporter)
    found, score, index = best
    return NameMatch(
        exporter=exporter, found=found[:200], score=round(score, 1), page=lines[index][0]
    )
