"""Claiming due reminders with a lease, so that one replica at a time works on each.

Due reminders are read through the ``(status, fire_at)`` index: pending and due, or
claimed by a replica whose lease has ended (it died mid-claim). Each candidate is then
claimed with an update conditional on the state that was read (status and claim token),
so of two replicas racing for it exactly one matches. Every later write is conditional on
the claim token, so a replica that lost its lease writes nothing.

Why not ``find_one_and_update`` with a sort: it is the same atomic step on mongod, but the
local SecantusDB answers it by reading the whole collection (measured: 96 ms at 6,000
reminders, 262 ms at 24,000), while an indexed find plus ``update_one`` by id stays flat.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from shared.domain.clock import Clock
from shared.infra.mongo_types import Database

CANDIDATES = 16  # due reminders read per claim attempt; racing workers spread over them
ROUNDS = 8


class LeaseLost(Exception):
    """The claim ended (lease expired and taken over, or the deadline was closed)."""


async def _candidates(db: Database, due_by: datetime, now: datetime) -> list[dict[str, Any]]:
    reminders = db["reminders"]
    pending = (
        await reminders.find({"status": "pending", "fire_at": {"$lte": due_by}})
        .sort("fire_at", 1)
        .limit(CANDIDATES)
        .to_list()
    )
    if pending:
        return pending
    return (
        await reminders.find(
            {"status": "claimed", "fire_at": {"$lte": due_by}, "lease_until": {"$lte": now}}
        )
        .sort("fire_at", 1)
        .limit(CANDIDATES)
        .to_list()
    )


async def claim_due(
    db: Database, *, due_by: datetime, clock: Clock, lease: timedelta, replica: str
) -> dict[str, Any] | None:
    """Claim one reminder due by ``due_by``, earliest first; None when none is left.

    Gives up after a few rounds lost to other workers; the next tick tries again.
    """
    for _round in range(ROUNDS):
        now = clock.now()
        candidates = await _candidates(db, due_by, now)
        if not candidates:
            return None
        for candidate in candidates:
            claim = {
                "status": "claimed",
                "claimed_by": f"{replica}:{uuid.uuid4().hex}",
                "claimed_at": now,
                "lease_until": now + lease,
            }
            result = await db["reminders"].update_one(
                {
                    "_id": candidate["_id"],
                    "status": candidate["status"],
                    "claimed_by": candidate.get("claimed_by"),
                },
                {"$set": claim, "$inc": {"claims": 1}},
            )
            if result.modified_count == 1:
                return {**candidate, **claim, "claims": candidate.get("claims", 0) + 1}
        # Every candidate went to another worker meanwhile: read again.
    return None


async def settle(
    db: Database,
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
