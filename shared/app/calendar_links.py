"""Whose deadlines a calendar feed shows: a partner's, or an exporter contact's by its link.

A contact's link ``/calendar/<token>.ics`` needs no login, so the token is 256 random bits.
It is kept as is, not hashed: every email repeats the link, and the token opens nothing
that is not in the same database already. Revoking deletes it; the next email carries a
new one, and the old link answers 404.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from shared.app.calendar_feed import FEED_KINDS, FeedDeadline
from shared.domain.deadlines import Deadline
from shared.infra.mongo_types import Database

TOKEN_PREFIX = "cal_"


def calendar_path(token: str) -> str:
    """The path of a contact's feed on the intake's HTTP API."""
    return f"/calendar/{token}.ics"


async def calendar_token(db: Database, email: str, now: datetime) -> str:
    """The contact's token, made on first use (two racing makers agree on one)."""
    email = email.strip()
    found = await db["calendar_links"].find_one({"_id": email})
    if found is not None:
        return str(found["token"])
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        await db["calendar_links"].insert_one({"_id": email, "token": token, "created_at": now})
    except DuplicateKeyError:
        found = await db["calendar_links"].find_one({"_id": email})
        assert found is not None
        return str(found["token"])
    return token


async def revoke_calendar_token(db: Database, email: str) -> bool:
    """Revoke the contact's link; True when there was one."""
    result = await db["calendar_links"].delete_one({"_id": email.strip()})
    return result.deleted_count == 1


async def contact_for_token(db: Database, token: str) -> str | None:
    """The contact whose link carries ``token``, or None (unknown or revoked)."""
    found = await db["calendar_links"].find_one({"token": token})
    return str(found["_id"]) if found else None


async def _ids(db: Database, collection: str, query: dict[str, Any]) -> list[str]:
    return [d["_id"] async for d in db[collection].find(query, {"_id": 1})]


async def _open_deadlines(db: Database, field: str, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    query = {field: {"$in": ids}, "status": "open", "kind": {"$in": list(FEED_KINDS)}}
    return await db["deadlines"].find(query).to_list()


async def _feed_deadlines(
    db: Database, application_ids: list[str], registration_ids: list[str]
) -> list[FeedDeadline]:
    """The open deadlines of these applications and registrations, with what they name.

    One query per field: an ``$or`` would read every deadline on the local MongoDB stand-in.
    """
    documents = {
        d["_id"]: d
        for d in [
            *await _open_deadlines(db, "application_id", application_ids),
            *await _open_deadlines(db, "registration_id", registration_ids),
        ]
    }
    return [await _feed_deadline(db, Deadline.model_validate(d)) for d in documents.values()]


async def _feed_deadline(db: Database, deadline: Deadline) -> FeedDeadline:
    application: dict[str, Any] = {}
    if deadline.application_id:
        application = await db["applications"].find_one({"_id": deadline.application_id}) or {}
    exporter = application.get("exporter") or {}
    missing: list[str] = []
    if deadline.kind in ("additional_materials", "rectification") and deadline.application_id:
        result = await db["validation_results"].find_one(
            {"application_id": deadline.application_id},
            {"missing": 1},
            sort=[("evaluated_at", -1)],
        )
        missing = list((result or {}).get("missing") or [])
    due = list(deadline.renewal_documents) if deadline.kind == "renewal" else []
    if deadline.kind in ("additional_materials", "rectification") and deadline.application_id:
        due = await _requested_items(db, deadline.application_id)
    return FeedDeadline(
        deadline=deadline,
        registration_number=deadline.registration_number or application.get("registration_number"),
        exporter_name=deadline.exporter_name or exporter.get("name"),
        product=deadline.product or application.get("product"),
        due=due,
        missing=missing,
    )


async def _requested_items(db: Database, application_id: str) -> list[str]:
    """What the authority asked for with the latest decision on the application."""
    decision = await db["decisions"].find_one(
        {"application_id": application_id}, sort=[("decided_at", -1)]
    )
    return list(((decision or {}).get("decision") or {}).get("items") or [])


async def partner_deadlines(db: Database, partner_id: str) -> list[FeedDeadline]:
    """Open deadlines of the partner's applications and of the registrations they obtained."""
    applications = await _ids(db, "applications", {"partner_id": partner_id})
    registrations = await _ids(db, "registrations", {"terms.application_id": {"$in": applications}})
    return await _feed_deadlines(db, applications, registrations)


async def contact_deadlines(db: Database, email: str) -> list[FeedDeadline]:
    """Open deadlines of the exporter applications and registrations naming this contact."""
    applications = await _ids(db, "applications", {"exporter.contact_emails": email})
    registrations = await _ids(db, "registrations", {"contact_emails": email})
    return await _feed_deadlines(db, applications, registrations)
