"""A unit of work's staged inserts and outbox entries go as one bulkWrite in the
transaction, commit together, are published after the commit, and a duplicate among them
applies nothing and names its collection."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.domain.clock import SystemClock
from shared.domain.events import CloudEvent, NotificationSent, new_event
from shared.infra.outbox import OutboxRelay, outbox_entry
from shared.infra.publisher import Publisher
from shared.infra.settings import Settings
from shared.infra.unit_of_work import UnitOfWork, duplicate_collection, run_unit_of_work
from tests.support import EventTap, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def counting_client(settings: Settings) -> tuple[Commands, AsyncMongoClient]:  # type: ignore[type-arg]
    """A client of its own whose commands are listed by name."""
    commands = Commands()
    client: AsyncMongoClient = AsyncMongoClient(  # type: ignore[type-arg]
        settings.mongodb_url, tz_aware=True, event_listeners=[commands]
    )
    return commands, client


def sent_event(subject: str) -> CloudEvent:
    payload = NotificationSent(event_id="e", event_type="t", recipient="r@example.org", subject="s")
    return new_event(
        "notification.sent", payload, service="test", time=SystemClock().now(), subject=subject
    )


async def test_inserts_and_events_commit_in_one_write_and_are_published(
    settings: Settings, db: AsyncDatabase
) -> None:
    commands, client = counting_client(settings)
    counted = client[db.name]
    subject, clock = f"buow-{uuid.uuid4().hex}", SystemClock()
    event = sent_event(subject)
    relay = OutboxRelay(counted, Publisher(settings.amqp_url, name="buow-test"), clock)

    async def work(uow: UnitOfWork) -> str:
        uow.insert("buow_marks", {"_id": subject})
        uow.insert("buow_results", {"_id": subject, "n": 1})
        uow.stage(event)
        return "stored"

    try:
        async with EventTap(settings.amqp_url, "notification.sent") as tap:
            commands.names.clear()
            result = await run_unit_of_work(client, counted, work, clock=clock, relay=relay)
            written = list(commands.names)
            await wait_until(lambda: any(e["id"] == event.id for e in tap.events))
    finally:
        await relay.stop()
        await client.close()
    assert result == "stored"
    # The three inserts as one command, then the commit, then the relay's mark.
    assert written[:2] == ["bulkWrite", "commitTransaction"]
    assert await db["buow_marks"].find_one({"_id": subject})
    assert await db["buow_results"].find_one({"_id": subject}) == {"_id": subject, "n": 1}
    entry = await db["outbox"].find_one({"_id": event.id})
    assert entry is not None
    assert entry["status"] == "sent"


async def test_a_duplicate_insert_applies_nothing_and_names_its_collection(
    db: AsyncDatabase,
) -> None:
    subject, clock = f"buow-{uuid.uuid4().hex}", SystemClock()
    await db["buow_marks"].insert_one({"_id": subject})
    event = sent_event(subject)

    async def work(uow: UnitOfWork) -> None:
        await uow.db["buow_moves"].insert_one({"_id": subject}, session=uow.session)
        uow.insert("buow_results", {"_id": subject})
        uow.insert("buow_marks", {"_id": subject})
        uow.stage(event)

    with pytest.raises(DuplicateKeyError) as duplicate:
        await run_unit_of_work(db.client, db, work, clock=clock, relay=None)
    assert duplicate_collection(duplicate.value, db) == "buow_marks"
    assert await db["buow_moves"].find_one({"_id": subject}) is None
    assert await db["buow_results"].find_one({"_id": subject}) is None
    assert await db["outbox"].find_one({"_id": event.id}) is None


async def test_the_next_unit_of_work_marks_earlier_events_sent_in_its_own_write(
    settings: Settings, db: AsyncDatabase
) -> None:
    commands, client = counting_client(settings)
    counted = client[db.name]
    subject, clock = f"buow-{uuid.uuid4().hex}", SystemClock()
    first, second = sent_event(subject), sent_event(subject)
    relay = OutboxRelay(
        counted, Publisher(settings.amqp_url, name="buow-carry"), clock, mark_seconds=60
    )

    def staging(event: CloudEvent, mark: str) -> Any:
        async def work(uow: UnitOfWork) -> None:
            uow.insert("buow_marks", {"_id": mark})
            uow.stage(event)

        return work

    try:
        await run_unit_of_work(
            client, counted, staging(first, f"{subject}-1"), clock=clock, relay=relay
        )
        stored = await db["outbox"].find_one({"_id": first.id})
        assert stored is not None
        assert stored["status"] == "pending"  # published; its mark waits for the next write
        commands.names.clear()
        await run_unit_of_work(
            client, counted, staging(second, f"{subject}-2"), clock=clock, relay=relay
        )
        written = list(commands.names)
        stored = await db["outbox"].find_one({"_id": first.id})
    finally:
        await relay.stop()
        await client.close()
    assert written == ["bulkWrite", "commitTransaction"]  # no update of its own
    assert stored is not None
    assert stored["status"] == "sent"
    assert stored["sent_at"] is not None


async def test_a_transaction_begun_before_an_entry_was_committed_leaves_its_mark_waiting(
    settings: Settings, db: AsyncDatabase
) -> None:
    """A transaction's snapshot holds no entry committed after it began: a mark of such an
    entry would match nothing there and be lost, so it waits for a later write."""
    subject, clock = f"buow-{uuid.uuid4().hex}", SystemClock()
    early, late, last = sent_event(subject), sent_event(subject), sent_event(subject)
    relay = OutboxRelay(db, Publisher(settings.amqp_url, name="buow-snap"), clock, mark_seconds=60)
    began, committed = asyncio.Event(), asyncio.Event()

    async def slow(uow: UnitOfWork) -> None:
        await uow.db["buow_marks"].find_one({"_id": subject}, session=uow.session)
        began.set()  # its snapshot is taken
        await committed.wait()  # meanwhile another unit of work commits and publishes
        uow.stage(early)

    def staging(event: CloudEvent) -> Any:
        async def work(uow: UnitOfWork) -> None:
            uow.stage(event)

        return work

    async def quick() -> None:
        await began.wait()
        await run_unit_of_work(db.client, db, staging(late), clock=clock, relay=relay)
        committed.set()

    try:
        async with EventTap(settings.amqp_url, "notification.sent") as tap:
            await asyncio.gather(
                run_unit_of_work(db.client, db, slow, clock=clock, relay=relay), quick()
            )
            await wait_until(lambda: {e["id"] for e in tap.events} >= {early.id, late.id})
        stored = await db["outbox"].find_one({"_id": late.id})
        assert stored is not None
        assert stored["status"] == "pending"  # not carried by the older transaction...
        await run_unit_of_work(db.client, db, staging(last), clock=clock, relay=relay)
        found = await db["outbox"].find({"_id": {"$in": [early.id, late.id]}}).to_list()
    finally:
        await relay.stop()
    # ...but by the next write, with the older transaction's own entry.
    assert sorted((d["_id"], d["status"]) for d in found) == sorted(
        [(early.id, "sent"), (late.id, "sent")]
    )


async def test_marks_carried_by_a_unit_of_work_that_aborts_wait_for_the_next_write(
    settings: Settings, db: AsyncDatabase
) -> None:
    subject, clock = f"buow-{uuid.uuid4().hex}", SystemClock()
    first, second = sent_event(subject), sent_event(subject)
    relay = OutboxRelay(db, Publisher(settings.amqp_url, name="buow-abort"), clock, mark_seconds=60)
    await db["buow_marks"].insert_one({"_id": f"{subject}-taken"})

    async def publish_first(uow: UnitOfWork) -> None:
        uow.stage(first)

    async def duplicate(uow: UnitOfWork) -> None:
        uow.insert("buow_marks", {"_id": f"{subject}-taken"})
        uow.stage(second)

    try:
        await run_unit_of_work(db.client, db, publish_first, clock=clock, relay=relay)
        with pytest.raises(DuplicateKeyError):
            await run_unit_of_work(db.client, db, duplicate, clock=clock, relay=relay)
        stored = await db["outbox"].find_one({"_id": first.id})
        assert stored is not None
        assert stored["status"] == "pending"  # the aborted transaction marked nothing
        # Given back: the next write carries it (here the relay's update as it stops).
        waiting = relay.take_sent_marks(relay.sent_marks_checkpoint())
        assert list(waiting) == [first.id]
        relay.give_back_sent_marks(waiting)
    finally:
        await relay.stop()
    assert await db["outbox"].find_one({"_id": second.id}) is None


async def test_marks_written_by_the_relay_hold_up_no_transaction_marking_one_of_them(
    settings: Settings, db: AsyncDatabase
) -> None:
    """Another writer's unit of work carries a mark of one entry the relay marks too (its
    sweep published it again): the relay's update waits for that transaction, and the
    transaction's later outbox writes and its commit go on."""
    subject, clock = f"buow-{uuid.uuid4().hex}", SystemClock()
    events = [sent_event(subject) for _ in range(3)]
    relay = OutboxRelay(db, Publisher(settings.amqp_url, name="buow-flush"), clock, mark_seconds=60)
    await db["outbox"].insert_many([outbox_entry(e, clock.now()) for e in events])
    ids = [e.id for e in events]
    late = sent_event(subject)
    session = db.client.start_session()
    try:
        await session.start_transaction()
        await db["outbox"].update_many(
            {"_id": {"$in": ids[:1]}, "status": "pending"},
            {"$set": {"status": "sent", "sent_at": clock.now()}},
            session=session,
        )
        leases = {i: clock.now() + timedelta(seconds=30) for i in ids}
        relay.give_back_sent_marks(leases)  # waiting for the relay's own update
        flush = asyncio.create_task(relay.stop())  # which marks what waits at once
        await asyncio.sleep(0.5)
        assert not flush.done()  # waiting on the transaction's write, as on mongod
        async with asyncio.timeout(5):  # not stuck behind the waiting update
            await db["outbox"].insert_one(outbox_entry(late, clock.now()), session=session)
            await session.commit_transaction()
        async with asyncio.timeout(10):
            await flush
    finally:
        if session.in_transaction:
            await session.abort_transaction()
        await session.end_session()
    stored = await db["outbox"].find({"_id": {"$in": [*ids, late.id]}}).to_list()
    assert sorted((d["_id"], d["status"]) for d in stored) == sorted(
        [(i, "sent") for i in ids] + [(late.id, "pending")]
    )
    await db["outbox"].delete_one({"_id": late.id})  # no relay of a later test publishes it
