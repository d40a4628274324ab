"""The unit of work: a state change and its events commit together, are published once
after the commit, and a broker problem leaves them to the relay's sweep."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

from devtools.clock import ManualClock
from shared.domain.clock import SystemClock
from shared.domain.events import CloudEvent, NotificationSent, new_event
from shared.infra.outbox import OutboxRelay
from shared.infra.publisher import Publisher
from shared.infra.settings import Settings
from shared.infra.unit_of_work import UnitOfWork, run_unit_of_work
from tests.support import EventTap, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")
UNREACHABLE_BROKER = "amqp://guest:guest@127.0.0.1:1/"


def sent_event(subject: str, clock: SystemClock | ManualClock) -> CloudEvent:
    payload = NotificationSent(event_id="e", event_type="t", recipient="r@example.org", subject="s")
    return new_event(
        "notification.sent", payload, service="test", time=clock.now(), subject=subject
    )


def published(tap: EventTap, subject: str) -> list[str]:
    return [e["id"] for e in tap.events if e["subject"] == subject]


def relay(db: AsyncDatabase, amqp_url: str, clock: SystemClock | ManualClock) -> OutboxRelay:
    return OutboxRelay(db, Publisher(amqp_url, name="uow-test"), clock, lease_seconds=30)


async def test_staged_events_commit_with_the_change_and_are_published_once(
    settings: Settings, db: AsyncDatabase
) -> None:
    subject, clock = f"uow-{uuid.uuid4().hex}", SystemClock()
    events = [sent_event(subject, clock) for _ in range(2)]
    publisher = relay(db, settings.amqp_url, clock)

    async def work(uow: UnitOfWork) -> str:
        await uow.db["uow_things"].insert_one({"_id": subject}, session=uow.session)
        for event in events:
            uow.stage(event)
        return "done"

    async with EventTap(settings.amqp_url, "notification.sent") as tap:
        result = await run_unit_of_work(db.client, db, work, clock=clock, relay=publisher)
        await wait_until(lambda: len(published(tap, subject)) >= 2)
    await publisher.stop()
    assert result == "done"
    assert await db["uow_things"].find_one({"_id": subject})
    assert published(tap, subject) == [e.id for e in events]
    assert await db["outbox"].count_documents({"subject": subject, "status": "sent"}) == 2


async def test_work_that_fails_leaves_neither_its_change_nor_its_events(
    settings: Settings, db: AsyncDatabase
) -> None:
    subject, clock = f"uow-{uuid.uuid4().hex}", SystemClock()

    async def work(uow: UnitOfWork) -> None:
        await uow.db["uow_things"].insert_one({"_id": subject}, session=uow.session)
        uow.stage(sent_event(subject, clock))
        raise LookupError("the work found something wrong")

    with pytest.raises(LookupError):
        await run_unit_of_work(db.client, db, work, clock=clock, relay=None)
    assert await db["uow_things"].find_one({"_id": subject}) is None
    assert await db["outbox"].count_documents({"subject": subject}) == 0


async def test_a_retried_transaction_stages_its_events_once(
    settings: Settings, db: AsyncDatabase
) -> None:
    subject, clock = f"uow-{uuid.uuid4().hex}", SystemClock()
    attempts: list[int] = []

    async def work(uow: UnitOfWork) -> None:
        attempts.append(1)
        uow.stage(sent_event(subject, clock))
        if len(attempts) == 1:  # as a write conflict would: the driver runs the work again
            error = PyMongoError("write conflict")
            error._add_error_label("TransientTransactionError")
            raise error

    await run_unit_of_work(db.client, db, work, clock=clock, relay=None)
    assert len(attempts) == 2
    assert await db["outbox"].count_documents({"subject": subject, "status": "pending"}) == 1


async def test_a_broker_problem_leaves_the_events_to_the_sweep(
    settings: Settings, db: AsyncDatabase
) -> None:
    subject = f"uow-{uuid.uuid4().hex}"
    clock = ManualClock(SystemClock().now())
    broken = relay(db, UNREACHABLE_BROKER, clock)
    event = sent_event(subject, clock)

    async def work(uow: UnitOfWork) -> None:
        uow.stage(event)

    await run_unit_of_work(db.client, db, work, clock=clock, relay=broken)  # does not raise
    entry = await db["outbox"].find_one({"_id": event.id})
    assert entry is not None
    assert entry["status"] == "pending"
    survivor = relay(db, settings.amqp_url, clock)
    async with EventTap(settings.amqp_url, "notification.sent") as tap:
        await survivor.drain()
        # Leased to the relay that could not publish: the sweep waits for the lease to end.
        assert (await db["outbox"].find_one({"_id": event.id}))["status"] == "pending"
        clock.advance(timedelta(seconds=31))
        await survivor.drain()
        await wait_until(lambda: len(published(tap, subject)) >= 1)
    await survivor.stop()
    await broken.stop()
    assert published(tap, subject) == [event.id]


class Commands(CommandListener):
    """The names of the commands a client sends, in order."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass


@pytest_asyncio.fixture(loop_scope="session")
async def counted(settings: Settings) -> AsyncIterator[tuple[Any, Commands]]:
    """A database of its own (entries left pending here are no other relay's business),
    on a client that records its commands."""
    commands = Commands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_url, tz_aware=True, event_listeners=[commands]
    )
    own = client[f"uow_{uuid.uuid4().hex[:8]}"]
    await own["uow_records"].create_index("key", unique=True)
    await own.create_collection("outbox")
    yield own, commands
    await client.drop_database(own.name)
    await client.close()


async def test_a_staged_record_and_its_events_are_one_command_and_the_commit(
    counted: tuple[Any, Commands],
) -> None:
    db, commands = counted
    subject, clock = f"uow-{uuid.uuid4().hex}", SystemClock()
    events = [sent_event(subject, clock) for _ in range(2)]

    async def work(uow: UnitOfWork) -> None:
        uow.insert("uow_records", {"_id": subject, "key": subject})
        for event in events:
            uow.stage(event)

    commands.names.clear()
    await run_unit_of_work(db.client, db, work, clock=clock, relay=None)
    assert commands.names == ["bulkWrite", "commitTransaction"]
    assert await db["uow_records"].find_one({"_id": subject}) == {"_id": subject, "key": subject}
    outbox = await db["outbox"].find({"subject": subject}).sort("_id", 1).to_list()
    assert sorted(e["_id"] for e in outbox) == sorted(e.id for e in events)


async def test_a_staged_record_breaking_a_unique_index_leaves_nothing(
    counted: tuple[Any, Commands],
) -> None:
    db, _ = counted
    subject, clock = f"uow-{uuid.uuid4().hex}", SystemClock()
    await db["uow_records"].insert_one({"_id": f"{subject}-first", "key": subject})
    event = sent_event(subject, clock)

    async def work(uow: UnitOfWork) -> None:
        uow.insert("uow_records", {"_id": f"{subject}-again", "key": subject})
        uow.stage(event)

    with pytest.raises(DuplicateKeyError):
        await run_unit_of_work(db.client, db, work, clock=clock, relay=None)
    assert await db["uow_records"].count_documents({"key": subject}) == 1
    assert await db["outbox"].count_documents({"subject": subject}) == 0


async def test_an_event_staged_twice_raises_a_duplicate_key_as_before(
    counted: tuple[Any, Commands],
) -> None:
    db, _ = counted
    subject, clock = f"uow-{uuid.uuid4().hex}", SystemClock()
    event = sent_event(subject, clock)

    async def work(uow: UnitOfWork) -> None:
        uow.stage(event)

    await run_unit_of_work(db.client, db, work, clock=clock, relay=None)
    with pytest.raises(DuplicateKeyError):
        await run_unit_of_work(db.client, db, work, clock=clock, relay=None)
    assert await db["outbox"].count_documents({"subject": subject}) == 1


async def test_a_retried_attempt_writes_its_staged_record_in_one_command_again(
    counted: tuple[Any, Commands],
) -> None:
    """The attempt after a transient error starts a transaction on a session that has
    talked to the server already (as after a write conflict with a dead replica's open
    transaction): its one command must still be accepted."""
    db, commands = counted
    subject, clock = f"uow-{uuid.uuid4().hex}", SystemClock()
    event = sent_event(subject, clock)
    attempts: list[int] = []

    async def work(uow: UnitOfWork) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            await uow.db["uow_records"].find_one({"_id": subject}, session=uow.session)
            error = PyMongoError("write conflict")
            error._add_error_label("TransientTransactionError")
            raise error
        uow.insert("uow_records", {"_id": subject, "key": subject})
        uow.stage(event)

    await run_unit_of_work(db.client, db, work, clock=clock, relay=None)
    assert len(attempts) == 2
    assert await db["uow_records"].count_documents({"_id": subject}) == 1
    assert await db["outbox"].count_documents({"_id": event.id}) == 1
