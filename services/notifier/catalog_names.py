"""A Babel extractor: the catalog's category, product and document names, the reasons its
regimes ended and the notices of their announced ends become messages (context ``catalog``)
that each language's catalog words as the authority writes them. They are plain text, never
formats: ``make translations`` runs Babel through ``services.notifier.pybabel``, which flags
them ``no-python-format`` (a name such as "more than 30% dairy" is no placeholder)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import yaml

from services.notifier.i18n import CATALOG_CONTEXT


def extract(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, tuple[str, str], list[str]]]:
    """Babel's extractor protocol: (line, function, (context, message), comments)."""
    data = yaml.safe_load(fileobj) or {}
    for category in data.get("categories") or []:
        yield 0, "pgettext", (CATALOG_CONTEXT, category["name"]), [f"category {category['id']}"]
        for product in category.get("products") or []:
            yield 0, "pgettext", (CATALOG_CONTEXT, product["name"]), [f"product {product['id']}"]
    for document in data.get("document_types") or []:
        yield 0, "pgettext", (CATALOG_CONTEXT, document["name"]), [f"document {document['id']}"]
    for regime in data.get("regimes") or []:  # why a regime ended, told to the exporters
        if regime.get("closed_reason"):
            reason = regime["closed_reason"].strip()
            yield 0, "pgettext", (CATALOG_CONTEXT, reason), [f"regime {regime['id']}"]
        if (regime.get("closure") or {}).get("notice"):  # its end announced, told until then
            notice = regime["closure"]["notice"].strip()
            yield 0, "pgettext", (CATALOG_CONTEXT, notice), [f"regime {regime['id']} closure"]
