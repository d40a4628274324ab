"""Hostile input for the intake's checks, and what an answer to it may be: the checked value
or a specific refusal, never a line break or bidi control in what is kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from hypothesis import strategies as st

from services.intake.checks import IntakeError

T = TypeVar("T")

ENVELOPE_CODES = {
    "missing_message_id",
    "missing_content_type",
    "missing_header",
    "bad_header",
    "bad_filename",
    "bad_metadata",
}

# Characters that change what a line or a name is: line breaks of every kind, bidi
# embeddings, overrides, isolates and marks, a byte-order mark, a decomposed accent.
LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
hostile_text = st.lists(
    st.text(max_size=12) | st.sampled_from([*LINE_BREAKS, *BIDI, "\ufeff", "e\u0301", "../", "\\"]),
    max_size=12,
).map("".join)
huge_integers = st.integers(min_value=-(10**40), max_value=10**40) | st.sampled_from(
    [2**63, -(2**63) - 1, 2**64, -1, 0]
)


def metadata_strategy(max_depth: int) -> st.SearchStrategy[str]:
    """``x-document-meta`` as a hostile partner writes it: numbers beyond 64 bits, nesting
    ``max_depth`` deep, line breaks and bidi controls, text near and over the size limit."""
    deep = st.integers(min_value=1, max_value=max_depth).map(
        lambda depth: '{"material": ' + "[" * depth + "]" * depth + "}"
    )
    fields = st.fixed_dictionaries(
        {},
        optional={
            "year": huge_integers,
            "language": hostile_text,
            "material": hostile_text | st.text(min_size=150, max_size=400),
            "translation_of": hostile_text,
            "issue_date": hostile_text | huge_integers,
        },
    )
    return st.one_of(fields.map(json.dumps), deep, st.text(min_size=8000, max_size=9000))


def assert_one_clean_line(value: str) -> None:
    assert not any(c in LINE_BREAKS or c in BIDI or ord(c) < 32 for c in value), repr(value)


def accepted_or_refused(check: Callable[[], T]) -> T | IntakeError:
    """What ``check`` returns, or the :class:`IntakeError` it refused the input with."""
    try:
        return check()
    except IntakeError as error:
        return error
