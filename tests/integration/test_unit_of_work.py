"""The unit of work: a state change and its events commit together, are published once
after the commit, and a broker problem leaves them to the relay's sweep."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

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
