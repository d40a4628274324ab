"""Transactional outbox: events are written with the state change, then relayed.

A handler writes its state change and ``stage(event)`` in one MongoDB transaction. After
the commit the relay publishes the entry with publisher confirms (message id = event id)
and marks it sent. A background loop picks up entries whose publisher died: each entry is
leased with ``find_one_and_update``, so two relays never publish it at the same time. A
crash between publish and mark republishes it once the lease ends; consumers de-duplicate
by event id. Sent entries stay as the event log that the dashboard reads.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.asynchronous.mongo_client import AsyncMongoClient

from shared.clock import Clock
from shared.events import CloudEvent
from shared.publisher import Publisher
from shared.topology import EVENTS_EXCHANGE

log = logging.getLogger("regwatch.outbox")
T = TypeVar("T")

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"


def outbox_entry(event: CloudEvent, now: Any) -> dict[str, Any]:
    """The outbox document for ``event``, pending and available at once."""
    return {
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


async def in_transaction(
    client: AsyncMongoClient, work: Callable[[AsyncClientSession], Awaitable[T]]
) -> T:
    """Run ``work`` in one transaction, retried on transient errors by the driver."""
    async with client.start_session() as session:
        return await session.with_transaction(work)


class OutboxRelay:
    """Publishes outbox entries to ``regwatch.events`` and marks them sent."""

    def __init__(
        self,
        db: AsyncDatabase,
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

    async def publish(self, event_id: str) -> bool:
        """Publish one entry now if no other relay holds it; True when it was published.

        Never raises for a broker problem: a failed entry stays pending for the sweep.
        """
        entry = await self._claim({"_id": event_id})
        if entry is None:
            return False
        try:
            await self._send(entry)
        except Exception as exc:
            # The state change is committed: the sweep publishes the entry once its lease ends.
            log.warning("publishing %s failed, left to the sweep: %s", event_id, exc)
            return False
        return True

    async def drain(self) -> int:
        """Publish every available pending entry; returns how many were published."""
        count = 0
        while (entry := await self._claim({})) is not None:
            await self._send(entry)
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

    async def _claim(self, extra: dict[str, Any]) -> dict[str, Any] | None:
        now = self._clock.now()
        return await self._outbox.find_one_and_update(
            {"status": "pending", "available_at": {"$lte": now}, **extra},
            {"$set": {"available_at": now + self._lease}, "$inc": {"attempts": 1}},
            sort=[("available_at", 1)],
            return_document=ReturnDocument.AFTER,
        )

    async def _send(self, entry: dict[str, Any]) -> None:
        event = entry["event"]
        await self._publisher.publish(
            json.dumps(event).encode(),
            exchange=EVENTS_EXCHANGE.name,
            routing_key=event["type"],
            message_id=event["id"],
            correlation_id=event.get("correlationid") or event["id"],
            content_type=CLOUDEVENTS_CONTENT_TYPE,
        )
        await self._outbox.update_one(
            {"_id": entry["_id"]},
            {"$set": {"status": "sent", "sent_at": self._clock.now()}},
        )
