"""What one evaluation needs, read in one aggregate on the application.

The application with its documents, the reader's facts of them (``document_facts``), the
colour of those of its images already measured (``image_measures``), its latest validation
result and whether the event was applied already (``inbox``): one round trip instead of one
query each. Read outside the transaction that stores the result: what was read is guarded
there by the unique indexes (inbox, fingerprint) and by the status the move expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.validator.images import FACTS as MEASURES
from services.validator.images import colour_checked_types, measure
from services.validator.readings import FACTS as READINGS
from shared.domain.catalog import Catalog
from shared.infra.runtime import ServiceContext

LATEST_FIELDS = {"fingerprint": 1, "document_ids": 1, "facts_used": 1}


@dataclass
class Loaded:
    """An application as an evaluation sees it, and what decides whether to evaluate."""

    application: dict[str, Any]
    documents: list[dict[str, Any]]
    latest: dict[str, Any] | None  # the latest result's fingerprint and what it covered
    seen: bool  # the inbox already holds this delivery's key
    measures: dict[str, bool | None]  # sha256 -> colour, of the images measured so far


def pipeline(
    application_id: str, consumer: str, inbox_key: str, *, readings: bool
) -> list[dict[str, Any]]:
    joins: list[dict[str, Any]] = [
        {"$match": {"_id": application_id}},
        {"$lookup": _by_application("documents", "_documents")},
    ]
    if readings:
        joins.append({"$lookup": _by_application(READINGS, "_readings")})
    latest = _by_application("validation_results", "_latest") | {
        "pipeline": [
            {"$sort": {"evaluated_at": -1}},
            {"$limit": 1},
            {"$project": LATEST_FIELDS},
        ]
    }
    # Joined on the event id rather than matched in a bare sub-pipeline: the local SecantusDB
    # reads the whole inbox for the latter (30 ms at 2,000 entries, 290 ms at 20,000), and
    # serves the join through the inbox's (event_id, consumer) index in under 1 ms.
    seen = {
        "from": "inbox",
        "localField": "_inbox_key",
        "foreignField": "event_id",
        "pipeline": [{"$match": {"consumer": consumer}}, {"$project": {"_id": 1}}],
        "as": "_seen",
    }
    measures = {
        "from": MEASURES,
        "localField": "_documents.sha256",
        "foreignField": "_id",
        "as": "_measures",
    }
    return [
        *joins,
        {"$lookup": latest},
        {"$set": {"_inbox_key": {"$literal": inbox_key}}},
        {"$lookup": seen},
        {"$lookup": measures},
        {"$unset": "_inbox_key"},
    ]


def _by_application(collection: str, field: str) -> dict[str, Any]:
    return {
        "from": collection,
        "localField": "_id",
        "foreignField": "application_id",
        "as": field,
    }


async def load(
    ctx: ServiceContext, application_id: str, inbox_key: str, *, readings: bool
) -> Loaded | None:
    """The application and what goes with it, or None if there is no such application."""
    cursor = await ctx.db["applications"].aggregate(
        pipeline(application_id, ctx.service, inbox_key, readings=readings)
    )
    found = await cursor.to_list()
    if not found:
        return None
    application = found[0]
    documents: list[dict[str, Any]] = application.pop("_documents")
    facts = {facts["_id"]: facts for facts in application.pop("_readings", [])}
    for document in documents:
        if document["_id"] in facts:
            document["reading"] = facts[document["_id"]]
    latest = application.pop("_latest")
    return Loaded(
        application=application,
        documents=documents,
        latest=latest[0] if latest else None,
        seen=bool(application.pop("_seen")),
        measures={m["_id"]: m["colour"] for m in application.pop("_measures")},
    )


async def attach_image_facts(ctx: ServiceContext, catalog: Catalog, loaded: Loaded) -> None:
    """Put the colour of each image a colour rule checks under ``document["facts"]``.

    Images not measured yet are read from GridFS and measured here, outside the
    transaction (GridFS cannot join one); the measure is kept by sha256.
    """
    checked = colour_checked_types(catalog)
    for document in loaded.documents:
        if document.get("document_type") not in checked:
            continue
        if not str(document.get("content_type", "")).startswith("image/"):
            continue
        sha256 = document["sha256"]
        if sha256 not in loaded.measures:
            loaded.measures[sha256] = await measure(ctx, sha256, document["blob_id"])
        document["facts"] = {"colour": loaded.measures[sha256]}
