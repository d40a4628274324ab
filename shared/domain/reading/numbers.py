"""Registration-like numbers in a text: letters and digits, mostly digits."""

from __future__ import annotations

import re

_CANDIDATE = re.compile(r"(?<![A-Za-z0-9])[A-Z0-9][A-Z0-9/-]{5,24}(?![A-Za-z0-9])")
_DATE_LIKE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{4}$")


def normalise_number(value: str) -> str:
    """A number as compared: upper case, without spaces, dashes or slashes."""
    return re.sub(r"[\s/-]", "", value).upper()


def find_numbers(text: str, limit: int = 50) -> list[str]:
    """Tokens that look like registration numbers (at least 5 digits, not a date)."""
    found: list[str] = []
    for match in _CANDIDATE.finditer(text):
        token = match.group(0).strip("-/")
        digits = sum(c.isdigit() for c in token)
        if digits < 5 or _DATE_LIKE.match(token) or token in found:
            continue
        found.append(token)
        if len(found) >= limit:
            break
    return found
