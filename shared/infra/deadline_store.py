"""Deadlines and their reminder points in MongoDB: open and close (inside the caller's transaction)."""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from shared.domain.deadlines import Deadline, reminder_documents
from shared.infra.mongo_types import Database


async def open_deadline(
    db: Database, deadline: Deadline, session: AsyncClientSession | None = None
) -> None:
    """Insert ``deadline`` and its pending reminder points (call inside the transaction).

    Points already in the past stay pending: the scheduler's next tick sends only the most
    recent of them and marks the older ones skipped.
    """
    await db["deadlines"].insert_one(deadline.to_mongo(), session=session)
    reminders = reminder_documents(deadline)
    if reminders:
        await db["reminders"].insert_many(reminders, session=session)


async def close_deadline(
    db: Database,
    deadline_id: str,
    reason: str,
    now: datetime,
    session: AsyncClientSession | None = None,
    *,
    status: str = "closed",
) -> None:
    """Close an open (or missed, or met) deadline and cancel its reminders not yet emitted.

    ``status``: ``closed``, or ``met`` when the deadline closes because it was met (a renewal
    filed in its window), which ``reopen_deadline`` can undo.

    A reminder a scheduler holds under lease is cancelled too: the scheduler's final
    write is conditional on its claim, so that reminder is then never emitted.
    """
    await db["deadlines"].update_one(
        {"_id": deadline_id, "status": {"$in": ["open", "missed", "met"]}},
        {"$set": {"status": status, "closed_at": now, "closed_reason": reason}},
        session=session,
    )
    await db["reminders"].update_many(
        {"deadline_id": deadline_id, "status": {"$in": ["pending", "claimed"]}},
        {"$set": {"status": "cancelled", "cancelled_reason": reason, "lease_until": None}},
        session=session,
    )


async def reopen_deadline(
    db: Database, deadline_id: str, now: datetime, session: AsyncClientSession | None = None
) -> None:
    """Open a met or closed deadline again; its cancelled reminders still ahead are pending.

    Reminders whose time has passed stay cancelled: a reopened window reminds from now on.
    """
    await db["deadlines"].update_one(
        {"_id": deadline_id, "status": {"$in": ["met", "closed"]}},
        {"$set": {"status": "open", "closed_at": None, "closed_reason": None}},
        session=session,
    )
    await db["reminders"].update_many(
        {"deadline_id": deadline_id, "status": "cancelled", "fire_at": {"$gt": now}},
        {"$set": {"status": "pending", "cancelled_reason": None, "lease_until": None}},
        session=session,
    )
