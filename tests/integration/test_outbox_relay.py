"""The outbox relay: two relays sweeping the same outbox publish each entry once, and an
entry leased to a relay that died is published by another once the lease ends."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

from devtools.clock import ManualClock
from devtools.local_infra import free_port
from shared.domain.clock import SystemClock
from shared.domain.events import NotificationSent, new_event
from shared.infra.outbox import OutboxRelay, outbox_entry
from shared.infra.publisher import Publisher
from shared.infra.settings import Settings
from tests.support import EventTap, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture
async def own_db(db: AsyncDatabase) -> AsyncIterator[AsyncDatabase]:
    """An outbox of the test's own: the session's services run relays that sweep theirs."""
    database = db.client[f"relay_{uuid.uuid4().hex[:8]}"]
    await database["outbox"].create_index([("status", 1), ("available_at", 1)])
    yield database
    await db.client.drop_database(database.name)


def sent_event(subject: str, now):  # type: ignore[no-untyped-def]
    payload = NotificationSent(event_id="e", event_type="t", recipient="r@example.org", subject="s")
    return new_event("notification.sent", payload, service="test", time=now, subject=subject)


async def test_two_relays_publish_each_pending_entry_once(
    settings: Settings, own_db: AsyncDatabase
) -> None:
    db = own_db
    subject = f"relay-{uuid.uuid4().hex}"
    clock = SystemClock()
    now = clock.now()
    relays = [
        OutboxRelay(
            db, Publisher(settings.amqp_url, name=f"relay-test-{i}"), clock, lease_seconds=30
        )
        for i in range(2)
    ]
    async with EventTap(settings.amqp_url, "notification.sent") as tap:
        # Written once the tap listens: the session's running relays may sweep some at once.
        entries = [outbox_entry(sent_event(subject, now), now) for _ in range(30)]
        await db["outbox"].insert_many(entries)
        published = await asyncio.gather(*(relay.drain() for relay in relays))
        await tap.wait_for("notification.sent", count=30, timeout=60)
        await asyncio.sleep(0.5)
    for relay in relays:
        await relay.stop()
    assert sum(published) == 30  # nobody else sweeps this outbox
    seen = Counter(e["id"] for e in tap.events if e["subject"] == subject)
    assert len(seen) == 30
    assert set(seen.values()) == {1}
    assert await db["outbox"].count_documents({"subject": subject, "status": "sent"}) == 30


async def test_an_entry_leased_to_a_dead_relay_is_published_after_the_lease(
    settings: Settings, db: AsyncDatabase
) -> None:
    subject = f"relay-{uuid.uuid4().hex}"
    clock = ManualClock(SystemClock().now())
    dead = OutboxRelay(db, Publisher(settings.amqp_url, name="dead-relay"), clock, lease_seconds=30)
    event = sent_event(subject, clock.now())
    await db["outbox"].insert_one(dead.leased_entry(event, clock.now()))  # ...then it died
    survivor = OutboxRelay(
        db, Publisher(settings.amqp_url, name="survivor"), clock, lease_seconds=30
    )
    async with EventTap(settings.amqp_url, "notification.sent") as tap:
        assert await survivor.drain() == 0  # still leased to the dead relay
        clock.advance(timedelta(seconds=31))
        assert await survivor.drain() == 1
        await tap.wait_for("notification.sent", timeout=20)
    await survivor.stop()
    await dead.stop()
    assert [e["id"] for e in tap.events if e["subject"] == subject] == [event.id]


class Updates(CommandListener):
    def __init__(self) -> None:
        self.count = 0

    def started(self, event: CommandStartedEvent) -> None:
        self.count += event.command_name == "update"

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass


async def thirty_leased(
    settings: Settings, own_db: AsyncDatabase, *, mark_seconds: float = 0.5
) -> tuple[Updates, AsyncMongoClient[dict[str, Any]], OutboxRelay, str, list[dict[str, Any]]]:
    """A relay whose client counts updates, and 30 entries written leased to it."""
    updates = Updates()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_url, tz_aware=True, event_listeners=[updates]
    )
    subject, clock = f"relay-{uuid.uuid4().hex}", SystemClock()
    relay = OutboxRelay(
        client[own_db.name],
        Publisher(settings.amqp_url, name=subject),
        clock,
        mark_seconds=mark_seconds,
    )
    now = clock.now()
    entries = [relay.leased_entry(sent_event(subject, now), now) for _ in range(30)]
    await own_db["outbox"].insert_many([dict(e) for e in entries])
    return updates, client, relay, subject, entries


async def sent_count(db: AsyncDatabase, subject: str) -> int:
    return await db["outbox"].count_documents({"subject": subject, "status": "sent"})


async def test_entries_published_without_a_next_write_are_marked_sent_together_soon_after(
    settings: Settings, own_db: AsyncDatabase
) -> None:
    updates, client, relay, subject, entries = await thirty_leased(settings, own_db)
    async with EventTap(settings.amqp_url, "notification.sent") as tap:
        published = await asyncio.gather(*(relay.publish_leased(e) for e in entries))
        assert updates.count == 0  # each publish returns at its confirm; the mark waits
        # Leased still: no other relay's sweep publishes them meanwhile.
        assert (
            await own_db["outbox"].count_documents(
                {
                    "subject": subject,
                    "status": "pending",
                    "available_at": {"$gt": SystemClock().now()},
                }
            )
            == 30
        )

        async def all_sent() -> bool:
            return await sent_count(own_db, subject) == 30

        await wait_until(all_sent, timeout=10)  # the relay's own update, 0.5 s later
        await tap.wait_for("notification.sent", count=30, timeout=60)
    await relay.stop()
    await client.close()
    assert all(published)
    assert updates.count == 1  # one update for all of them, not one per entry
    assert sorted(e["id"] for e in tap.events if e["subject"] == subject) == sorted(
        e["_id"] for e in entries
    )


async def test_a_unit_of_works_entries_go_out_in_order_and_stopping_marks_them_sent_at_once(
    settings: Settings, own_db: AsyncDatabase
) -> None:
    updates, client, relay, subject, entries = await thirty_leased(
        settings, own_db, mark_seconds=60
    )
    async with EventTap(settings.amqp_url, "notification.sent") as tap:
        published = await relay.publish_leased_all(entries)
        await tap.wait_for("notification.sent", count=30, timeout=60)
    assert await sent_count(own_db, subject) == 0  # waiting for a next write
    await relay.stop()  # ...which never comes: stopping marks them
    assert await sent_count(own_db, subject) == 30
    await client.close()
    assert published == 30
    assert updates.count == 1  # published in order, then marked sent with one update
    # In the order they were staged (one publisher channel keeps it).
    assert [e["id"] for e in tap.events if e["subject"] == subject] == [e["_id"] for e in entries]


async def test_an_entry_whose_publish_failed_is_retried_after_a_poll_not_the_whole_lease(
    settings: Settings, own_db: AsyncDatabase
) -> None:
    db = own_db  # no running service's relay sweeps it
    subject = f"relay-{uuid.uuid4().hex}"
    clock = ManualClock(SystemClock().now())
    refused = f"amqp://guest:guest@127.0.0.1:{free_port()}/"  # nothing listens there
    failing = OutboxRelay(
        db, Publisher(refused, name="no-broker"), clock, lease_seconds=30, poll_seconds=2
    )
    event = sent_event(subject, clock.now())
    entry = failing.leased_entry(event, clock.now())
    await db["outbox"].insert_one(dict(entry))
    assert await asyncio.wait_for(failing.publish_leased(entry), 30) is False
    stored = await db["outbox"].find_one({"_id": entry["_id"]})
    assert stored is not None
    assert stored["status"] == "pending"
    # Released: one poll interval (one attempt so far), not the 30 s lease.
    assert abs((stored["available_at"] - clock.now()).total_seconds() - 2) < 0.01
    survivor = OutboxRelay(
        db, Publisher(settings.amqp_url, name="survivor"), clock, lease_seconds=30
    )
    async with EventTap(settings.amqp_url, "notification.sent") as tap:
        assert await survivor.drain() == 0  # not before the pause
        clock.advance(timedelta(seconds=2.1))
        assert await survivor.drain() == 1
        await tap.wait_for("notification.sent", timeout=20)
    await survivor.stop()
    await failing.stop()
    assert [e["id"] for e in tap.events if e["subject"] == subject] == [event.id]
    stored = await db["outbox"].find_one({"_id": entry["_id"]})
    assert stored is not None
    assert stored["status"] == "sent"
    assert stored["attempts"] == 2


async def test_a_mark_with_little_lease_left_is_written_at_once_not_carried(
    settings: Settings, own_db: AsyncDatabase
) -> None:
    subject = f"relay-{uuid.uuid4().hex}"
    clock = ManualClock(SystemClock().now())
    relay = OutboxRelay(
        own_db, Publisher(settings.amqp_url, name=subject), clock, lease_seconds=30, mark_seconds=60
    )
    entry = relay.leased_entry(sent_event(subject, clock.now()), clock.now())
    await own_db["outbox"].insert_one(dict(entry))
    try:
        assert await relay.publish_leased_all([entry]) == 1
        clock.advance(timedelta(seconds=20))  # 10 s of the lease left: less than half
        # A transaction that may take long under load does not carry it...
        assert relay.take_sent_marks(relay.sent_marks_checkpoint()) == {}

        async def marked() -> bool:  # ...the relay marks it itself, without the 60 s wait
            return await sent_count(own_db, subject) == 1

        await wait_until(marked, timeout=10)
    finally:
        await relay.stop()
