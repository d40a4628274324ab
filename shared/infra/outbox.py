"""Transactional outbox: events are written with the state change, then relayed.

A writer's unit of work (``shared.infra.unit_of_work``) writes its state change and the
entries of its events in one MongoDB transaction, each entry leased to this process's
relay. After the commit the relay publishes them with publisher confirms (message id =
event id). A published entry is marked sent soon after the publish, with the next write:
the next unit of work of the same process begun after the publish (an older transaction's
snapshot does not hold the entry) carries the marks in the command that writes its own
inserts; a process with no next write marks them with one update a short delay
later (``SentMarks``, well within the lease: a mark with less than half its lease left is
written at once), or when its relay stops. Until marked, an
entry stays leased to its relay, so no other relay publishes it meanwhile. Each entry
carries the partner its writer staged it with, which routes it to the partner's queue
without a lookup (``shared.infra.partner_routing``).
A background loop (the sweep: every poll interval while it finds work, at most 8 apart
while it finds none) picks up entries whose publisher died or failed once their lease ends:
each is leased again by a conditional update, so two relays never publish it at the same
time. A crash between publish and mark (a mark still waiting included) republishes the
entry once the lease ends; consumers de-duplicate by event id. Sent entries stay as the
event log that the dashboard reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pymongo import UpdateOne
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


class SentMarks:
    """Published entries waiting to be marked sent, carried by the next write.

    An entry's id waits here once its publish is confirmed. It is marked sent by whichever
    comes first: a later unit of work of this process, in the command that writes its
    inserts (``take_to_carry``; ``give_back`` if its transaction aborts), or one update for
    all that wait once the first of them has waited ``delay`` seconds (a process with no
    next write), or ``close``. A transaction carries only the marks published before it
    began (``checkpoint``): its snapshot holds no entry committed after that, so a mark of
    a newer entry would match nothing there and be lost. A mark with less than ``margin``
    of its lease left is not carried (a transaction may take a while under load) but
    written at once. Meanwhile the entry stays leased to this relay, so no other relay
    publishes it again; the mark is conditional on the entry still pending, and every write
    that carries it is the same.
    """

    def __init__(
        self, outbox: Collection, clock: Clock, *, delay: float, margin: timedelta
    ) -> None:
        self._outbox = outbox
        self._clock = clock
        self._delay = delay
        self._margin = margin  # lease a carried mark must have left
        # id -> (its lease's end, the checkpoint it was published in), in publish order
        self._waiting: dict[str, tuple[datetime, int]] = {}
        self._published = 0  # checkpoints: calls of ``add`` so far
        self._flush: asyncio.Task[None] | None = None
        self._closed = False  # ids given back after close wait for their lease to end

    def checkpoint(self) -> int:
        """Where the marks published from now on begin: a transaction that starts after
        this call may carry the marks published before it (``take_to_carry``)."""
        return self._published

    def add(self, leases: dict[str, datetime]) -> None:
        """Have the published entries ``leases`` (id -> lease end) marked sent soon."""
        self._published += 1
        self._waiting.update((i, (end, self._published)) for i, end in leases.items())
        if self._waiting and self._flush is None and not self._closed:
            self._flush = asyncio.create_task(
                self._flush_later(self._delay), name="outbox-sent-marks"
            )

    def take(self) -> dict[str, datetime]:
        """Every waiting mark, for a write that marks them; none wait afterwards."""
        taken = {i: end for i, (end, _) in self._waiting.items()}
        self._waiting.clear()
        self._cancel_flush()  # nothing waits: the next id added starts the delay
        return taken

    def take_to_carry(self, checkpoint: int) -> dict[str, datetime]:
        """The waiting marks published before ``checkpoint`` with enough lease left to ride
        in a transaction that began after it (one may take a while under load); those with
        too little lease left are marked by the relay's own update at once."""
        limit = self._clock.now() + self._margin
        carry = {
            i: end for i, (end, at) in self._waiting.items() if at <= checkpoint and end > limit
        }
        for entry_id in carry:
            del self._waiting[entry_id]
        if any(end <= limit for end, _ in self._waiting.values()):
            self._expedite()
        elif not self._waiting:
            self._cancel_flush()
        return carry

    def _cancel_flush(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None

    def give_back(self, leases: dict[str, datetime]) -> None:
        """Marks taken by a write that did not happen: they wait again."""
        if leases:
            self.add(leases)

    def _expedite(self) -> None:
        self._cancel_flush()
        if not self._closed:
            self._flush = asyncio.create_task(self._flush_later(0), name="outbox-sent-marks")

    def mark(self, entry_ids: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The filter and update that mark ``entry_ids`` sent, if still pending."""
        return (
            {"_id": {"$in": list(entry_ids)}, "status": "pending"},
            {"$set": {"status": "sent", "sent_at": self._clock.now()}},
        )

    async def flush(self) -> None:
        """Mark every waiting id sent now, with one update.

        An update that fails leaves its entries leased: the sweep publishes them again once
        the lease ends, and consumers de-duplicate them by event id.
        """
        entry_ids = list(self.take())
        if not entry_ids:
            return
        _, change = self.mark(entry_ids)
        # One command of single-entry updates, not one update_many: outside a transaction, a
        # multi-document update that meets a transaction's write to one of its entries (a
        # mark carried by another writer's unit of work) holds the whole outbox on the
        # local SecantusDB while it waits, and that transaction's next outbox write waits
        # for it: a deadlock mongod does not have.
        updates = [UpdateOne({"_id": i, "status": "pending"}, change) for i in entry_ids]
        try:
            await self._outbox.bulk_write(updates, ordered=False)
        except Exception as exc:
            log.warning("marking %s sent failed, left to the sweep: %s", entry_ids, exc)

    async def close(self) -> None:
        """Stop waiting: mark what waits now."""
        self._closed = True
        if self._flush is not None:
            self._flush.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flush
            self._flush = None
        await self.flush()

    async def _flush_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._flush = None  # not cancelled from here on: the update is on its way
        await self.flush()


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
        mark_seconds: float = 1.0,
    ) -> None:
        self._outbox = db["outbox"]
        self._publisher = publisher
        self._clock = clock
        self._lease = timedelta(seconds=lease_seconds)
        self._poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._idle_passes = 0  # sweeps in a row that found nothing
        self._polls_to_sweep = 1  # poll intervals until the next sweep
        self._partners = PartnerRouting(db)
        # Well within the lease: an entry waiting for its mark is leased to this relay.
        self._sent = SentMarks(
            self._outbox,
            clock,
            delay=min(mark_seconds, lease_seconds / 10),
            margin=self._lease / 2,
        )

    async def drain(self) -> int:
        """Publish every available pending entry, then mark them sent with one update;
        returns how many were published."""
        count = 0
        try:
            while (entry := await self._claim()) is not None:
                try:
                    await self._publish(entry)
                except Exception:
                    await self._release([entry])
                    raise
                self._sent.add({entry["_id"]: entry["available_at"]})
                count += 1
        finally:
            if count:
                await self._sent.flush()
        return count

    def start(self) -> None:
        """Start the background loop that sweeps up entries left pending."""
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Stop the sweep, mark sent what was published, close the publisher."""
        await self._stop_loop()
        await self._sent.close()
        await self._publisher.close()

    def sent_marks_checkpoint(self) -> int:
        """Call when a transaction begins; pass it to ``take_sent_marks`` (``SentMarks``)."""
        return self._sent.checkpoint()

    def take_sent_marks(self, checkpoint: int) -> dict[str, datetime]:
        """Published entries not yet marked (id -> lease end), published before
        ``checkpoint`` and with at least half their lease left, for a write that marks them
        (``sent_marks``) in a transaction begun after it; ``give_back_sent_marks`` if it
        does not commit. Those with less lease left are marked at once.
        """
        return self._sent.take_to_carry(checkpoint)

    def give_back_sent_marks(self, leases: dict[str, datetime]) -> None:
        """Marks taken by ``take_sent_marks`` whose write did not commit: they wait again."""
        self._sent.give_back(leases)

    def sent_marks(self, entry_ids: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The filter and update (for ``update_many`` on the outbox) marking them sent."""
        return self._sent.mark(entry_ids)

    async def _stop_loop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        """Sweep every poll interval while there is work; after passes that found nothing,
        every 2, 4, then at most ``IDLE_SWEEP_POLLS`` intervals (``idle_sweep_polls``)."""
        while True:
            if self._polls_to_sweep <= 1:
                try:
                    found = await self.drain() > 0
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # keep relaying after a broker or database outage
                    log.warning("outbox relay pass failed: %s", exc)
                    found = True  # retried at the poll interval
                self._idle_passes = 0 if found else self._idle_passes + 1
                self._polls_to_sweep = idle_sweep_polls(self._idle_passes)
            else:
                self._polls_to_sweep -= 1
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
        return await self.publish_leased_all([entry]) == 1

    async def publish_leased_all(self, entries: list[dict[str, Any]]) -> int:
        """Publish entries written by ``leased_entry``, in their order; returns how many
        were published. Each is marked sent soon after, with the next write (``SentMarks``).

        An entry that fails is left to the sweep and the next is still tried. Never raises
        for a broker problem. An entry published but not marked (the process dies, the
        update fails) is leased still: the sweep publishes it again once the lease ends,
        and consumers de-duplicate it.
        """
        published: dict[str, datetime] = {}
        failed: list[dict[str, Any]] = []
        for entry in entries:
            try:
                await self._publish(entry)
            except Exception as exc:
                log.warning("publishing %s failed, left to the sweep: %s", entry["_id"], exc)
                failed.append(entry)
                continue
            published[entry["_id"]] = entry["available_at"]
        await self._release(failed)
        self._sent.add(published)
        return len(published)

    async def _release(self, entries: list[dict[str, Any]]) -> None:
        """Hand entries whose publish failed back to the sweep soon, not at the lease's end.

        The lease keeps other relays off an entry while this one publishes it; once the
        publish has failed nobody is publishing it, so the sweep may retry after a pause
        that grows with its attempts (one poll interval per attempt, at most the lease).
        Only this relay's lease is shortened (the update is conditional on it); if the
        update fails too, the lease simply runs out as before.
        """
        if entries:  # the sweep comes back at the poll interval, as the pause expects
            self._idle_passes, self._polls_to_sweep = 0, 1
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


IDLE_SWEEP_POLLS = 8


def idle_sweep_polls(idle_passes: int) -> int:
    """Poll intervals before the next sweep after ``idle_passes`` sweeps in a row found
    nothing: 1 while there is work, then doubling up to ``IDLE_SWEEP_POLLS``.

    Entries of a relay that died wait for their lease to end anyway; an idle process then
    reads the outbox a few times a lease, not every poll interval.
    """
    return min(1 << min(idle_passes, 8), IDLE_SWEEP_POLLS)


def _stored(moment: datetime) -> datetime:
    """``moment`` as MongoDB stores it (BSON dates keep whole milliseconds, rounded down)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
