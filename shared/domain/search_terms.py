"""Names as search terms: the lowercase words a person may type the start of."""

from __future__ import annotations

import re

WORD = re.compile(r"\w+")


def name_terms(name: str | None) -> list[str]:
    """The distinct casefolded words of ``name``, sorted ("Nordic Scrap AB" -> ab, nordic, scrap).

    Stored beside a name and indexed, they let a prefix query on the index find "scr" in
    "Nordic Scrap AB" without reading every record (a regex would).
    """
    return sorted(set(WORD.findall((name or "").casefold())))
