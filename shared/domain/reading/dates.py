"""Dates stated in a text, with what they are dates of (issue, expiry) when the words say.

Forms read: 2024-03-01, 2024/3/1, 2024.03.01, 2024年3月1日, 1 March 2024, March 1, 2024,
1 Mar 2024 and 01.03.2024 or 01/03/2024 (day first, as on most certificates outside the US).
"""

from __future__ import annotations

import re
from datetime import date

from shared.domain.reading.facts import DateLabel, FoundDate

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month_name>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_PATTERNS = (
    re.compile(r"(?P<year>\d{4})\s*年\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})(?!\d)\s*日?"),
    re.compile(r"(?<!\d)(?P<year>\d{4})[-/.](?P<month>\d{1,2})[-/.](?P<day>\d{1,2})(?!\d)"),
    re.compile(r"(?<!\d)(?P<day>\d{1,2})[./](?P<month>\d{1,2})[./](?P<year>\d{4})(?!\d)"),
    re.compile(
        r"(?<!\d)(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<year>\d{4})", re.I
    ),
    re.compile(_MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})", re.I),
)
# Words before a date that say what it is a date of; the nearest one wins.
_LABELS: tuple[tuple[DateLabel, re.Pattern[str]], ...] = (
    (
        "expiry",
        re.compile(
            r"valid\s+(?:until|till|to|thru|through)|expir\w*|valid\s+date|validity|"
            r"有效期至|有效期|截止日期|到期",
            re.I,
        ),
    ),
    (
        "issue",
        re.compile(r"issue[ds]?|date\s+of\s+issue|issuing\s+date|签发|发证|颁发|出具", re.I),
    ),
)
_CONTEXT = 40  # characters looked at before a date for its label
_QUOTE = 60


def find_dates(pages: list[str], limit: int = 100) -> list[FoundDate]:
    """Every date stated in ``pages`` (one text per page), in reading order."""
    found: list[FoundDate] = []
    for number, text in enumerate(pages, start=1):
        matches: list[tuple[tuple[int, int], date]] = []
        for pattern in _PATTERNS:
            for match in pattern.finditer(text):
                span = match.span()
                if any(span[0] < end and start < span[1] for (start, end), _ in matches):
                    continue  # the same characters read by an earlier form
                day = _day(match)
                if day is not None:
                    matches.append((span, day))
        previous_end = 0
        for span, day in sorted(matches):
            label = _label(text, max(previous_end, span[0] - _CONTEXT), span[0])
            found.append(FoundDate(day=day, label=label, page=number, quote=_quote(text, span)))
            previous_end = span[1]
    return found[:limit]


def _day(match: re.Match[str]) -> date | None:
    parts = match.groupdict()
    month = parts.get("month")
    month_number = (
        int(month) if month else _MONTHS.get((parts.get("month_name") or "").lower().rstrip("."))
    )
    try:
        return date(int(parts["year"]), month_number or 0, int(parts["day"]))
    except ValueError:
        return None


def _label(text: str, start: int, end: int) -> DateLabel | None:
    """The label whose words end nearest before the date, on its line, after the last date."""
    line_start = text.rfind("\n", start, end)
    before = text[max(start, line_start + 1) : end]
    best: tuple[int, DateLabel] | None = None
    for label, pattern in _LABELS:
        for match in pattern.finditer(before):
            if best is None or match.end() > best[0]:
                best = (match.end(), label)
    return best[1] if best else None


def _quote(text: str, span: tuple[int, int]) -> str:
    start = max(0, span[0] - _QUOTE)
    line_start = text.rfind("\n", start, span[0])
    start = line_start + 1 if line_start >= 0 else start
    end = text.find("\n", span[1])
    end = min(end if end >= 0 else len(text), span[1] + 20)
    return " ".join(text[start:end].split())
