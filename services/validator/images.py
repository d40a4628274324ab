"""Measuring images for the colour rule, once per content (cached by sha256)."""

from __future__ import annotations

from shared.domain.catalog import Catalog
from shared.domain.evaluation import is_colour_image
from shared.infra.db import blobs
from shared.infra.runtime import ServiceContext

# Not document_facts: that holds the reader's facts, one record per document.
FACTS = "image_measures"

_CHECKED: dict[tuple[str, str], frozenset[str]] = {}


def colour_checked_types(catalog: Catalog) -> frozenset[str]:
    """Document types some colour rule looks at (worked out once per catalog)."""
    key = (catalog.version, catalog.digest)
    if key not in _CHECKED:
        _CHECKED[key] = frozenset(
            name
            for requirement_set in catalog.requirement_sets
            for rule in requirement_set.rules
            if rule.kind == "colour"
            for name in rule.document_types
        )
    return _CHECKED[key]


async def measure(ctx: ServiceContext, sha256: str, blob_id: object) -> bool | None:
    """Whether the stored image is in colour (None: no image); kept by sha256.

    Runs outside any transaction: GridFS cannot join one. Facts depend only on the bytes.
    """
    stream = await blobs(ctx.db).open_download_stream(blob_id)
    colour = is_colour_image(await stream.read())
    await ctx.db[FACTS].update_one(
        {"_id": sha256}, {"$setOnInsert": {"_id": sha256, "colour": colour}}, upsert=True
    )
    return colour
