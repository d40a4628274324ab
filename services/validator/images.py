"""Measuring images for the colour rule, once per content (cached by sha256)."""

from __future__ import annotations

from typing import Any

from shared.domain.catalog import Catalog
from shared.domain.evaluation import is_colour_image
from shared.infra.db import blobs
from shared.infra.runtime import ServiceContext

# Not document_facts: that holds the reader's facts, one record per document.
FACTS = "image_measures"


def colour_checked_types(catalog: Catalog) -> set[str]:
    """Document types some colour rule looks at."""
    return {
        name
        for requirement_set in catalog.requirement_sets
        for rule in requirement_set.rules
        if rule.kind == "colour"
        for name in rule.document_types
    }


async def image_facts(
    ctx: ServiceContext, catalog: Catalog, application_id: str
) -> dict[str, dict[str, Any]]:
    """sha256 -> facts of the application's images that a colour rule checks.

    Runs outside the transaction: GridFS cannot join one. Facts depend only on the bytes,
    so they are cached in ``image_measures`` by sha256.
    """
    cursor = ctx.db["documents"].find(
        {
            "application_id": application_id,
            "document_type": {"$in": sorted(colour_checked_types(catalog))},
            "content_type": {"$regex": "^image/"},
        },
        {"sha256": 1, "blob_id": 1},
    )
    facts: dict[str, dict[str, Any]] = {}
    async for document in cursor:
        sha256 = document["sha256"]
        cached = await ctx.db[FACTS].find_one({"_id": sha256})
        if cached is None:
            stream = await blobs(ctx.db).open_download_stream(document["blob_id"])
            cached = {"_id": sha256, "colour": is_colour_image(await stream.read())}
            await ctx.db[FACTS].update_one({"_id": sha256}, {"$setOnInsert": cached}, upsert=True)
        facts[sha256] = {"colour": cached["colour"]}
    return facts
