"""A unit of work's staged inserts and outbox entries go as one bulkWrite in the
transaction, commit together, are published after the commit, and a duplicate among them
applies nothing and names its collection."""

from __future__ import annotations

import uuid

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.domain.clock import SystemClock
from shared.domain.events import CloudEvent, NotificationSent, new_event
from shared.infra.outbox import OutboxRelay
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


def sent_event(subject: str) -> CloudEvent:
    payload = NotificationSent(event_id="e", event_type="t", recipient="r@example.org", subject="s")
    return new_event(
        "notification.sent", payload, service="test", time=SystemClock().now(), subject=subject
    )


async def test_inserts_and_events_commit_in_one_write_and_are_published(
    settings: Settings, db: AsyncDatabase
) -> None:
    commands = Commands()
    client: AsyncMongoClient = AsyncMongoClient(  # type: ignore[type-arg]
        settings.mongodb_url, tz_aware=True, event_listeners=[commands]
    )
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
