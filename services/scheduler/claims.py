"""Claiming due reminders with a lease, so that one replica at a time works on each.

A claim is a ``find_one_and_update`` on the ``(status, fire_at)`` index: pending and due,
or claimed by a replica whose lease has ended (it died mid-claim). Every later write is
conditional on the claim token, so a replica that lost its lease writes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.clock import Clock


class LeaseLost(Exception):
    """The claim ended (lease expired and taken over, or the deadline was closed)."""


async def claim_due(
    db: AsyncDatabase, *, due_by: datetime, clock: Clock, lease: timedelta, replica: str
) -> dict[str, Any] | None:
    """Claim one reminder due by ``due_by``, earliest first; None when none is left."""
    now = clock.now()
    token = f"{replica}:{uuid.uuid4().hex}"
    update = {
        "$set": {
            "status": "claimed",
            "claimed_by": token,
            "claimed_at": now,
            "lease_until": now + lease,
        },
        "$inc": {"claims": 1},
    }
    for query in (
        {"status": "pending", "fire_at": {"$lte": due_by}},
        {"status": "claimed", "fire_at": {"$lte": due_by}, "lease_until": {"$lte": now}},
    ):
        claimed = await db["reminders"].find_one_and_update(
            query, update, sort=[("fire_at", 1)], return_document=ReturnDocument.AFTER
        )
        if claimed is not None:
            return claimed
    return None


async def settle(
    db: AsyncDatabase,
    reminder: dict[str, Any],
    fields: dict[str, Any],
    session: AsyncClientSession,
) -> None:
    """Move a claimed reminder to its final state; raise LeaseLost if the claim is gone."""
    result = await db["reminders"].update_one(
        {"_id": reminder["_id"], "status": "claimed", "claimed_by": reminder["claimed_by"]},
        {"$set": {**fields, "lease_until": None}},
        session=session,
    )
    if result.matched_count != 1:
        raise LeaseLost(f"reminder {reminder['_id']} is no longer claimed by this replica")
