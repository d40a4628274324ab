"""Which script a text is written in (enough to tell Chinese from English)."""

from __future__ import annotations


def is_cjk(char: str) -> bool:
    """True for a CJK ideograph (the basic block and extension A)."""
    code = ord(char)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF


def chinese_share(text: str) -> float:
    """Share of CJK ideographs among the letters of ``text`` (0 when it has none).

    A Latin word counts as one unit, as an ideograph does: "Company 公司" is half Chinese.
    """
    ideographs = sum(1 for c in text if is_cjk(c))
    words = sum(1 for w in "".join(c if c.isascii() and c.isalpha() else " " for c in text).split())
    total = ideographs + words
    return round(ideographs / total, 3) if total else 0.0
