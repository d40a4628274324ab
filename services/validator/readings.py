"""The reader's facts for the documents being evaluated (``document_facts``)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from shared.infra.runtime import ServiceContext

FACTS = "document_facts"


async def attach_readings(
    ctx: ServiceContext,
    session: AsyncClientSession,
    application_id: str,
    documents: list[dict[str, Any]],
) -> None:
    """Put each document's facts under ``document["reading"]`` (absent while being read)."""
    if not ctx.settings.reader_enabled:
        return
    found = {
        facts["_id"]: facts
        async for facts in ctx.db[FACTS].find({"application_id": application_id}, session=session)
    }
    for document in documents:
        if document["_id"] in found:
            document["reading"] = found[document["_id"]]


async def facts_already_used(ctx: ServiceContext, application_id: str, document_id: str) -> bool:
    """True when the latest validation result already used the document's facts."""
    latest = await ctx.db["validation_results"].find_one(
        {"application_id": application_id}, {"facts_used": 1}, sort=[("evaluated_at", -1)]
    )
    return latest is not None and document_id in latest.get("facts_used", [])
