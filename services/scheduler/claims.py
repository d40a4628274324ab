"""Claiming due reminders in batches with a lease, so that one replica at a time works on each.

Due reminders are read through the ``(status, fire_at)`` index, earliest first: pending and
due, then claimed by a replica whose lease has ended (it died mid-batch). A tick reads them
through one cursor per pass, a batch per round trip (``DueReminders``): the local SecantusDB
answers a sorted ``find`` by reading every match whatever its limit (measured: 50 ms with
1,000 due, 1.2 s with 20,000), so a fresh ``find`` per batch would make a catch-up quadratic;
on mongod the cursor costs the same as a ``find`` per batch.

A batch of candidates is claimed with one token and the lease, each reminder conditional on
its still being in the state it was read in (pending, or its lease ended), so of replicas
racing for a reminder exactly one matches; reading back which carry the token tells what this
replica holds. Every later write is conditional on the token, so a replica that lost its
lease writes nothing. A batch is claimed in a transaction of its own, one ``update_many`` per
state read and the commit; a transaction's write that meets another's fails at once (on
mongod as on the local SecantusDB), and the claim then falls back to single-reminder updates
outside a transaction, which wait for the other's commit and take what is left. Never one
``update_many`` outside a transaction: one that meets another replica's open transaction
holds the whole collection on the local SecantusDB while it waits, and that transaction's
next statement then waits for it (a deadlock mongod does not have). Measured on the stand-in
(100 reminders a batch): 0.44 ms of its CPU per reminder in a transaction, 0.78 with
single-reminder updates; a lone candidate (the baseline of ``bench/scheduler.py``) is one
single-reminder update.

The claim's time is bounded (``timeout``): a replica killed inside its transaction leaves its
writes open until the server aborts it (60 s on mongod), and a claim that meets them would
wait that long; it gives up instead and keeps what it claimed, the rest waits for a later tick.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import pymongo
from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.errors import PyMongoError

from shared.domain.clock import Clock
from shared.infra.mongo_types import Database

log = logging.getLogger("regwatch.scheduler")


class LeaseLost(Exception):
    """The claim ended (lease expired and taken over, or the deadline was closed)."""


@dataclass(frozen=True)
class Claim:
    """Reminders this replica holds under one claim token, earliest first."""

    token: str
    reminders: list[dict[str, Any]]


def _passes(due_by: datetime, now: datetime) -> list[dict[str, Any]]:
    """What is due, in the order it is taken: pending first, then ended leases."""
    return [
        {"status": "pending", "fire_at": {"$lte": due_by}},
        {"status": "claimed", "fire_at": {"$lte": due_by}, "lease_until": {"$lte": now}},
    ]


class DueReminders:
    """The reminders due by ``due_by``, read in batches; shared by the workers of a tick."""

    def __init__(self, db: Database, *, due_by: datetime, clock: Clock, batch_size: int) -> None:
        self._db, self._due_by, self._clock = db, due_by, clock
        self._size = max(1, batch_size)
        self._pass = 0
        self._cursor: AsyncCursor[dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    async def next_batch(self) -> list[dict[str, Any]] | None:
        """The next candidates (their ids and state), or None when nothing due is left."""
        async with self._lock:
            while self._pass < 2:
                if self._cursor is None:
                    query = _passes(self._due_by, self._clock.now())[self._pass]
                    self._cursor = (
                        self._db["reminders"]
                        .find(query, {"status": 1, "fire_at": 1})
                        .sort("fire_at", 1)
                        .batch_size(self._size)
                    )
                batch = await self._cursor.to_list(self._size)
                if batch:
                    return batch
                await self._cursor.close()
                self._cursor, self._pass = None, self._pass + 1
            return None

    async def close(self) -> None:
        if self._cursor is not None:
            await self._cursor.close()
            self._cursor = None

    async def __aenter__(self) -> DueReminders:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def claim_batch(
    db: Database,
    candidates: list[dict[str, Any]],
    *,
    clock: Clock,
    lease: timedelta,
    replica: str,
    timeout: float,
) -> Claim:
    """Claim those of ``candidates`` still unclaimed (or with an ended lease) with one token."""
    now = clock.now()
    token = f"{replica}:{uuid.uuid4().hex}"
    ids = [c["_id"] for c in candidates]
    claim = {
        "$set": {
            "status": "claimed",
            "claimed_by": token,
            "claimed_at": now,
            "lease_until": now + lease,
        },
        "$inc": {"claims": 1},
    }
    # Each conditional on the state it was read in (no $or: SecantusDB would read the whole
    # collection for it).
    unclaimed: dict[str, dict[str, Any]] = {
        "pending": {"status": "pending"},
        "claimed": {"status": "claimed", "lease_until": {"$lte": now}},
    }
    try:
        with pymongo.timeout(timeout):
            if len(candidates) == 1 or not await _claim_together(db, candidates, unclaimed, claim):
                updates = [
                    UpdateOne({"_id": c["_id"], **unclaimed[c["status"]]}, claim)
                    for c in candidates
                ]
                await db["reminders"].bulk_write(updates, ordered=False)
    except PyMongoError as exc:
        if not exc.timeout:
            raise
        log.warning(
            "claiming %d reminders took over %g s; keeping what was claimed", len(ids), timeout
        )
    with pymongo.timeout(timeout):
        held = await db["reminders"].find({"_id": {"$in": ids}, "claimed_by": token}).to_list()
    return Claim(token, sorted(held, key=lambda r: (r["fire_at"], r["_id"])))


async def _claim_together(
    db: Database,
    candidates: list[dict[str, Any]],
    unclaimed: dict[str, dict[str, Any]],
    claim: dict[str, Any],
) -> bool:
    """Claim ``candidates`` in one transaction, one ``update_many`` per state they were read
    in; False (nothing written) when it meets another writer's transaction.
    """
    by_state: dict[str, list[str]] = {}
    for candidate in candidates:
        by_state.setdefault(candidate["status"], []).append(candidate["_id"])
    async with db.client.start_session(causal_consistency=False) as session:
        try:
            await session.start_transaction()
            for state, ids in by_state.items():
                await db["reminders"].update_many(
                    {"_id": {"$in": ids}, **unclaimed[state]}, claim, session=session
                )
            await session.commit_transaction()
        except PyMongoError as exc:  # the session's end aborts the transaction
            if exc.timeout or not exc.has_error_label("TransientTransactionError"):
                raise
            return False
    return True


async def claim_due(
    db: Database,
    *,
    due_by: datetime,
    clock: Clock,
    lease: timedelta,
    replica: str,
    timeout: float = 10.0,
) -> dict[str, Any] | None:
    """Claim one reminder due by ``due_by``, earliest first; None when none is left."""
    async with DueReminders(db, due_by=due_by, clock=clock, batch_size=1) as due:
        while (candidates := await due.next_batch()) is not None:
            claim = await claim_batch(
                db, candidates, clock=clock, lease=lease, replica=replica, timeout=timeout
            )
            if claim.reminders:
                return claim.reminders[0]
    return None


async def settle_many(
    db: Database,
    token: str,
    settlements: list[tuple[str, dict[str, Any]]],
    session: AsyncClientSession,
) -> None:
    """Move claimed reminders to their final states; raise LeaseLost if any claim is gone.

    Reminders given the same fields share one ``update_many``, each conditional on the claim
    token; a field given as ``ById(prefix)`` is that prefix and the reminder's id (the
    event id of an emitted reminder), so the emitted reminders of a batch are one update too.
    """
    if not settlements:
        return
    groups: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for reminder_id, fields in settlements:
        key = repr(sorted(fields.items()))
        groups.setdefault(key, (fields, []))[1].append(reminder_id)
    matched = 0
    for fields, ids in groups.values():
        held = {"status": "claimed", "claimed_by": token}
        if len(ids) == 1:  # alone: one update by _id, its values as they are
            reminder_id = ids[0]
            result = await db["reminders"].update_one(
                {"_id": reminder_id, **held},
                {"$set": {**_values(fields, reminder_id), "lease_until": None}},
                session=session,
            )
        else:
            result = await db["reminders"].update_many(
                {"_id": {"$in": ids}, **held},
                _settling({**fields, "lease_until": None}),
                session=session,
            )
        matched += result.matched_count
    if matched != len(settlements):
        lost = len(settlements) - matched
        raise LeaseLost(f"{lost} of {len(settlements)} reminders are no longer claimed by {token}")


@dataclass(frozen=True)
class ById:
    """A settlement field whose value is ``prefix`` followed by the reminder's id."""

    prefix: str


def _values(fields: dict[str, Any], reminder_id: str) -> dict[str, Any]:
    """``fields`` for one reminder: each ``ById`` value made out."""
    return {
        name: f"{value.prefix}{reminder_id}" if isinstance(value, ById) else value
        for name, value in fields.items()
    }


def _settling(fields: dict[str, Any]) -> dict[str, Any] | list[dict[str, Any]]:
    """The update setting ``fields``: plain, or a pipeline when a value derives from the id."""
    if not any(isinstance(value, ById) for value in fields.values()):
        return {"$set": fields}
    return [
        {
            "$set": {
                name: {"$concat": [value.prefix, "$_id"]}
                if isinstance(value, ById)
                else {"$literal": value}
                for name, value in fields.items()
            }
        }
    ]
