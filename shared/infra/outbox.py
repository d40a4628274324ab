"""Transactional outbox: events are written with the state change, then relayed.

A writer's unit of work (``shared.infra.unit_of_work``) writes its state change and the
entries of its events in one MongoDB transaction, each entry leased to this process's
relay. After the commit the relay publishes them with publisher confirms (message id =
event id) and marks them sent: a unit of work's entries with one update once all are
published, and entries published one by one with one update for every entry published
while the previous update was on its way (``SentMarks``), so a burst costs a few updates,
not one per event. Each entry carries the partner its writer staged it with, which routes
it to the partner's queue without a lookup (``shared.infra.partner_routing``).
A background loop picks up entries whose publisher died or
failed once their lease ends: each is leased again by a conditional update, so two relays
never publish it at the same time. A crash between publish and mark republishes it once
the lease ends; consumers de-duplicate by event id. Sent entries stay as the event log
that the dashboard reads.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pymongo.asynchronous.client_session import AsyncClientSession

from shared.domain.clock import Clock
from shared.domain.events import CloudEvent
from shared.infra.activity import ACTIVITY
from shared.infra.mongo_types import Collection, Database, MongoClient
from shared.infra.partner_routing import UNKNOWN, CarriedPartner, PartnerRouting
from shared.infra.publisher import Publisher
from shared.infra.topology import EVENTS_EXCHANGE

log = logging.getLogger("regwatch.outbox")
T = TypeVar("T")

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"


def outbox_entry(
    event: CloudEvent, now: Any, partner_id: CarriedPartner = UNKNOWN
) -> dict[str, Any]:
    """The outbox document for ``event``, pending and available at once.

    ``partner_id``: the partner the event concerns as its writer knows it (None: no
    partner), which routes it without a lookup; an entry without one is looked up.
    """
    entry = {
        "_id": event.id,
        "type": event.type,
        "subject": event.subject,
        "time": event.time,
        "event": event.model_dump(mode="json"),
        "status": "pending",
        "available_at": now,
        "attempts": 0,
        "created_at": now,
    }
    if partner_id is not UNKNOWN:
        entry["partner_id"] = partner_id
    return entry


def carried_partner(entry: dict[str, Any]) -> CarriedPartner:
    """The partner an outbox entry carries, or UNKNOWN (an entry written without one)."""
    if "partner_id" not in entry:
        return UNKNOWN
    partner_id = entry["partner_id"]
    return str(partner_id) if partner_id else None


async def in_transaction(
    client: MongoClient, work: Callable[[AsyncClientSession], Awaitable[T]]
) -> T:
    """Run ``work`` in one transaction, retried on transient errors by the driver.

    The session serves this one transaction only, so it asks for no causal consistency:
    with it, the driver adds ``readConcern.afterClusterTime`` to the first command of every
    attempt after the first, and the local MongoDB stand-in refuses that field on
    ``bulkWrite`` (the first command of a unit of work that stages inserts). A transaction
    reads its own snapshot on the primary; the retry's snapshot is newer anyway.
    """
    async with client.start_session(causal_consistency=False) as session:
        return await session.with_transaction(work)


class _Batch:
    """Entry ids marked sent by one update, and how that update ended."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.done = False
        self.error: Exception | None = None


class SentMarks:
    """Marks published entries sent, many with one update (group commit).

    One update is on its way at a time; the ids that arrive meanwhile wait for it and then
    go together with the next one. Each caller returns once its own id is marked (or raises
    what the update raised), so "published" still means "marked sent" when it returns;
    alone, an entry costs one update as before.
    """

    def __init__(self, outbox: Collection, clock: Clock) -> None:
        self._outbox = outbox
        self._clock = clock
        self._collecting = _Batch()
        self._writing = asyncio.Lock()

    async def mark(self, entry_id: str) -> None:
        await self.mark_all([entry_id])

    async def mark_all(self, entry_ids: list[str]) -> None:
        """Mark ``entry_ids`` sent, with the ids of other callers that wait meanwhile."""
        batch = self._collecting
        batch.ids.extend(entry_ids)
        async with self._writing:  # FIFO: the batch's first waiter writes for all of it
            if not batch.done:
                if self._collecting is batch:
                    self._collecting = _Batch()
                try:
                    await self._outbox.update_many(
                        {"_id": {"$in": batch.ids}},
                        {"$set": {"status": "sent", "sent_at": self._clock.now()}},
                    )
                except asyncio.CancelledError:
                    raise  # the batch is not done: its next waiter writes it
                except Exception as exc:
                    batch.error, batch.done = exc, True
                    raise
                batch.done = True
        if batch.error is not None:
            raise batch.error


class OutboxRelay:
    """Publishes outbox entries to ``regwatch.events`` and marks them sent.

    Events about a partner's applications, documents and registrations carry its id in the
    ``regwatch-partner`` header, on which RabbitMQ routes them to the partner's queue.
    """

    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        clock: Clock,
        *,
        lease_seconds: float = 30.0,
        poll_seconds: float = 1.0,
    ) -> None:
        self._outbox = db["outbox"]
        self._publisher = publisher
        self._clock = clock
        self._lease = timedelta(seconds=lease_seconds)
        self._poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._partners = PartnerRouting(db)
        self._sent = SentMarks(self._outbox, clock)

    async def drain(self) -> int:
        """Publish every available pending entry; returns how many were published."""
        count = 0
        while (entry := await self._claim()) is not None:
            try:
                await self._send(entry)
            except Exception:
                await self._release([entry])
                raise
            count += 1
        return count

    def start(self) -> None:
        """Start the background loop that sweeps up entries left pending."""
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        await self._stop_loop()
        await self._publisher.close()

    async def _stop_loop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep relaying after a broker or database outage
                log.warning("outbox relay pass failed: %s", exc)
            await asyncio.sleep(self._poll_seconds)

    async def _claim(self) -> dict[str, Any] | None:
        """Lease one available pending entry to this relay, or None.

        An indexed read then an update conditional on what was read, rather than
        ``find_one_and_update``: the local MongoDB stand-in answers that by reading the
        whole outbox, which is also the event log. Two relays racing on one entry: only one
        update matches, the other moves on.
        """
        now = self._clock.now()
        query = {"status": "pending", "available_at": {"$lte": now}}
        candidates = self._outbox.find(query).sort("available_at", 1).limit(5)
        async for entry in candidates:
            leased = await self._outbox.update_one(
                {"_id": entry["_id"], "status": "pending", "available_at": entry["available_at"]},
                {"$set": {"available_at": now + self._lease}, "$inc": {"attempts": 1}},
            )
            if leased.modified_count == 1:
                return entry | {
                    "available_at": now + self._lease,
                    "attempts": entry.get("attempts", 0) + 1,
                }
        return None

    def leased_entry(
        self, event: CloudEvent, now: datetime, partner_id: CarriedPartner = UNKNOWN
    ) -> dict[str, Any]:
        """The outbox entry for ``event``, leased to this relay from the moment it is written.

        Write it with the state change, then ``publish_leased`` it after the commit: no
        claim is needed (one round trip less), and if this process dies or the publish
        fails, any relay's sweep publishes it once the lease ends.
        """
        entry = outbox_entry(event, now, partner_id)
        return entry | {"available_at": now + self._lease, "attempts": 1}

    async def publish_leased(self, entry: dict[str, Any]) -> bool:
        """Publish an entry written by ``leased_entry``; False leaves it to the sweep.

        Never raises for a broker problem: the state change is committed already.
        """
        try:
            await self._send(entry)
        except Exception as exc:
            log.warning("publishing %s failed, left to the sweep: %s", entry["_id"], exc)
            await self._release([entry])
            return False
        return True

    async def publish_leased_all(self, entries: list[dict[str, Any]]) -> int:
        """Publish entries written by ``leased_entry``, in their order, then mark them sent
        with one update (a unit of work that staged many events); returns how many were
        published and marked.

        Each entry is tried as ``publish_leased`` tries it: one that fails is left to the
        sweep and the next is still tried. Never raises for a broker problem. An entry
        published but not marked (the process dies, the update fails) is leased still: the
        sweep publishes it again once the lease ends, and consumers de-duplicate it.
        """
        published: list[str] = []
        failed: list[dict[str, Any]] = []
        for entry in entries:
            try:
                await self._publish(entry)
            except Exception as exc:
                log.warning("publishing %s failed, left to the sweep: %s", entry["_id"], exc)
                failed.append(entry)
                continue
            published.append(entry["_id"])
        await self._release(failed)
        if not published:
            return 0
        try:
            await self._sent.mark_all(published)
        except Exception as exc:
            log.warning("marking %s sent failed, left to the sweep: %s", published, exc)
            return 0
        return len(published)

    async def _release(self, entries: list[dict[str, Any]]) -> None:
        """Hand entries whose publish failed back to the sweep soon, not at the lease's end.

        The lease keeps other relays off an entry while this one publishes it; once the
        publish has failed nobody is publishing it, so the sweep may retry after a pause
        that grows with its attempts (one poll interval per attempt, at most the lease).
        Only this relay's lease is shortened (the update is conditional on it); if the
        update fails too, the lease simply runs out as before.
        """
        now = self._clock.now()
        for entry in entries:
            pause = min(self._lease, timedelta(seconds=self._poll_seconds * entry["attempts"]))
            try:
                await self._outbox.update_one(
                    {
                        "_id": entry["_id"],
                        "status": "pending",
                        # As stored: BSON keeps milliseconds.
                        "available_at": _stored(entry["available_at"]),
                    },
                    {"$set": {"available_at": now + pause}},
                )
            except Exception as exc:
                log.warning("releasing %s failed, its lease runs out: %s", entry["_id"], exc)
                return

    async def _send(self, entry: dict[str, Any]) -> None:
        await self._publish(entry)
        await self._sent.mark(entry["_id"])

    async def _publish(self, entry: dict[str, Any]) -> None:
        event = entry["event"]
        # The partner header routes the one publish to the partner's queue as well; the
        # entry carries the partner its writer knew, else it is looked up.
        headers = await self._partners.headers(event, carried_partner(entry))
        await self._publisher.publish(
            json.dumps(event).encode(),
            exchange=EVENTS_EXCHANGE.name,
            routing_key=event["type"],
            message_id=event["id"],
            correlation_id=event.get("correlationid") or event["id"],
            content_type=CLOUDEVENTS_CONTENT_TYPE,
            headers=headers or None,
        )
        ACTIVITY.event_published(event["type"])


def _stored(moment: datetime) -> datetime:
    """``moment`` as MongoDB stores it (BSON dates keep whole milliseconds, rounded down)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
