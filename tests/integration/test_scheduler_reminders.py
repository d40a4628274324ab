"""The scheduler with the real broker, database and SMTP sink: every reminder once, on time.

A ManualClock stands in for time; APScheduler ticks every 0.2 s on wall-clock time and
each tick sees whatever the test moved the clock to.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from devtools.clock import ManualClock
from services.notifier import app as notifier_app
from services.scheduler import app as scheduler_app
from services.scheduler.app import SchedulerService
from services.scheduler.claims import claim_batch, claim_due
from services.scheduler.settle import settle_batch, settle_claimed
from shared.domain.deadlines import DEFAULT_OFFSETS_DAYS, Deadline
from shared.domain.models import Application, Exporter, new_id
from shared.infra.deadline_store import close_deadline, open_deadline
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from tests.integration.deadline_support import (
    body_text,
    ensure_maildir,
    isolated_settings,
    mails_to,
    subject_of,
)
from tests.support import EventTap, wait_until

START = datetime(2031, 3, 2, 9, 0, tzinfo=UTC)
CLOCK = ManualClock(START)
StartScheduler = Callable[..., Awaitable[SchedulerService]]


@pytest.fixture(scope="module")
def iso(settings: Settings) -> Iterator[Settings]:
    with isolated_settings(
        settings,
        scheduler_tick_seconds=0.2,
        outbox_poll_seconds=0.2,
        scheduler_lease_seconds=60,
        ops_email=f"ops-{uuid.uuid4().hex[:6]}@regwatch.example",
    ) as isolated:
        yield isolated


@pytest_asyncio.fixture(scope="module")
async def notifier(
    iso: Settings, iso_db: AsyncDatabase, smtp: dict[str, Any]
) -> AsyncIterator[ServiceContext]:
    ensure_maildir(smtp["maildir"])
    ctx = await notifier_app.start(iso, CLOCK)
    yield ctx
    await ctx.close()


@pytest_asyncio.fixture
async def start_scheduler(iso: Settings, iso_db: AsyncDatabase) -> AsyncIterator[StartScheduler]:
    """Start scheduler replicas on CLOCK; they stop, and what is left pending is cancelled."""
    CLOCK.set(START)
    started: list[SchedulerService] = []

    async def start(replica: str = "a", **updates: Any) -> SchedulerService:
        service = await scheduler_app.start(iso.model_copy(update=updates), CLOCK, replica=replica)
        started.append(service)
        return service

    yield start
    for service in started:
        await service.close()
    await iso_db["reminders"].update_many(
        {"status": {"$in": ["pending", "claimed"]}}, {"$set": {"status": "cancelled"}}
    )


async def started_up(*replicas: SchedulerService) -> None:
    """Until each replica's start-up tick and sweep have run (APScheduler fires them)."""
    await wait_until(lambda: all(r.ticks >= 1 and r.sweeps >= 1 for r in replicas))


def contacts(n: int = 2) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    return [f"contact{i}-{tag}@exporter.example" for i in range(n)]


async def make_application(db: AsyncDatabase, emails: list[str], **fields: Any) -> str:
    values: dict[str, Any] = {
        "_id": new_id("app"),
        "partner_id": "ptn_test",
        "exporter": Exporter(name="Fjord Dairy AS", country="NO", contact_emails=emails),
        "category": "food.dairy",
        "product": "Cheese",
        "kind": "new",
        "created_at": CLOCK.now(),
        "updated_at": CLOCK.now(),
    }
    values.update(fields)
    application = Application(**values)
    await db["applications"].insert_one(application.model_dump(by_alias=True))
    return application.id


async def record_missing(db: AsyncDatabase, application_id: str, missing: list[str]) -> None:
    """An older and a newer validation result: the newer one's missing items count."""
    for age, items in ((timedelta(days=2), ["stale item"]), (timedelta(0), missing)):
        await db["validation_results"].insert_one(
            {
                "_id": new_id("val"),
                "application_id": application_id,
                "fingerprint": uuid.uuid4().hex,
                "evaluated_at": CLOCK.now() - age,
                "missing": items,
            }
        )


def window(application_id: str, days: int, **fields: Any) -> Deadline:
    values: dict[str, Any] = {
        "_id": new_id("dl"),
        "kind": "rectification",
        "subject": application_id,
        "application_id": application_id,
        "due_at": CLOCK.now() + timedelta(days=days),
        "opened_at": CLOCK.now(),
        "reminder_offsets_days": DEFAULT_OFFSETS_DAYS["rectification"],
        "on_missed": "failed",
    }
    values.update(fields)
    return Deadline(**values)


async def reminder_states(db: AsyncDatabase, deadline_id: str) -> dict[str, str]:
    found = await db["reminders"].find({"deadline_id": deadline_id}).to_list()
    return {r["point"]: r["status"] for r in found}


@pytest.mark.asyncio
async def test_registration_expiring_in_200_days_gets_each_reminder_once_as_the_clock_moves(
    iso: Settings,
    iso_db: AsyncDatabase,
    smtp: dict[str, Any],
    notifier: ServiceContext,
    start_scheduler: StartScheduler,
) -> None:
    emails = contacts(2)
    application_id = await make_application(
        iso_db, emails, kind="renewal", registration_number="CHN-DAIRY-0042"
    )
    await record_missing(iso_db, application_id, ["Declaration of continued compliance"])
    expires = START + timedelta(days=200)
    deadline = Deadline(
        _id=new_id("dl"),
        kind="renewal",
        subject="CHN-DAIRY-0042",
        application_id=application_id,
        registration_number="CHN-DAIRY-0042",
        due_at=expires - timedelta(days=90),  # Decree 248: renewal 3 to 6 months before expiry
        expires_at=expires,
        opened_at=START,
        reminder_offsets_days=DEFAULT_OFFSETS_DAYS["renewal"],
    )
    await open_deadline(iso_db, deadline)
    # The term's end is a deadline of its own: its "expired" point tells the expiry.
    await open_deadline(
        iso_db,
        deadline.model_copy(
            update={
                "id": new_id("dl"),
                "kind": "expiry",
                "due_at": expires,
                "reminder_offsets_days": [],
            }
        ),
    )
    await start_scheduler()

    # At once: T-180d and T-120d are already past; only the most recent is sent.
    steps: list[tuple[datetime | None, str]] = [(None, "Renewal due in 110 days")]
    steps += [
        (deadline.due_at - timedelta(days=d), f"Renewal due in {d} day{'s' if d > 1 else ''}")
        for d in (90, 60, 30, 14, 7, 1)
    ]
    steps += [
        (deadline.due_at, "Deadline missed: the renewal window"),
        (expires, "Registration expired"),
    ]
    for count, (moment, subject_start) in enumerate(steps, start=1):
        if moment is not None:
            CLOCK.set(moment + timedelta(minutes=1))
        await wait_until(lambda c=count: len(mails_to(smtp["maildir"], set(emails))) >= 2 * c, 20)
        latest = [
            m
            for m in mails_to(smtp["maildir"], set(emails))
            if subject_of(m).startswith(subject_start)
        ]
        assert sorted(m["To"] for m in latest) == sorted(emails), subject_start

    await wait_until(lambda: True, 0)
    mails = mails_to(smtp["maildir"], set(emails))
    assert len(mails) == 2 * len(steps)  # nothing more, nothing twice
    assert len({(m["To"], subject_of(m)) for m in mails}) == len(mails)
    first = next(m for m in mails if subject_of(m).startswith("Renewal due in 110 days"))
    text = body_text(first)
    assert "Fjord Dairy AS" in text
    assert "Product: Cheese" in text
    assert "Registration number: CHN-DAIRY-0042" in text
    assert f"Renewal window closes: {deadline.due_at:%d %B %Y} (110 days left)" in text
    assert f"Registration valid until: {expires:%d %B %Y}" in text
    assert "  - Declaration of continued compliance" in text
    assert "stale item" not in text
    expired = next(m for m in mails if subject_of(m).startswith("Registration expired"))
    assert f"expired on {expires:%d %B %Y}" in body_text(expired)
    states = await reminder_states(iso_db, deadline.id)
    assert states.pop("T-180d") == "skipped"
    assert set(states.values()) == {"emitted"}


@pytest.mark.asyncio
async def test_two_scheduler_replicas_in_parallel_emit_and_send_each_reminder_once(
    iso: Settings,
    iso_db: AsyncDatabase,
    smtp: dict[str, Any],
    notifier: ServiceContext,
    start_scheduler: StartScheduler,
) -> None:
    emails = contacts(1)
    application_id = await make_application(iso_db, emails)
    deadlines = [
        window(application_id, days=7 + i, reminder_offsets_days=[7 + i]) for i in range(30)
    ]
    async with EventTap(iso.amqp_url, "deadline.#") as tap:
        first = await start_scheduler("replica-1", scheduler_concurrency=3)
        second = await start_scheduler("replica-2", scheduler_concurrency=3)
        for deadline in deadlines:
            await open_deadline(iso_db, deadline)
        # Besides their APScheduler ticks, make the two replicas race head on.
        await asyncio.gather(first.tick(), second.tick(), first.tick(), second.tick())
        await wait_until(lambda: len(mails_to(smtp["maildir"], set(emails))) >= 30)
        await asyncio.sleep(1.0)  # time for a duplicate to show up, if there were one

    ids = {d.id for d in deadlines}
    published = [e for e in tap.events if e["data"]["deadline_id"] in ids]
    assert len(published) == len({e["id"] for e in published}) == 30
    mails = mails_to(smtp["maildir"], set(emails))
    assert len(mails) == len({m["X-Regwatch-Event-Id"] for m in mails}) == 30
    emitted = (
        await iso_db["reminders"]
        .find({"deadline_id": {"$in": list(ids)}, "status": "emitted"})
        .to_list()
    )
    assert len(emitted) == 30
    assert (
        await iso_db["outbox"].count_documents({"_id": {"$in": [r["event_id"] for r in emitted]}})
        == 30
    )


@pytest.mark.asyncio
async def test_reminder_held_by_a_killed_replica_is_taken_over_after_its_lease(
    iso: Settings, iso_db: AsyncDatabase, start_scheduler: StartScheduler
) -> None:
    application_id = await make_application(iso_db, contacts(1))
    deadline = window(application_id, days=3, reminder_offsets_days=[3])
    await open_deadline(iso_db, deadline)
    # A replica claims the reminder, then dies before settling it.
    ghost = await claim_due(
        iso_db, due_by=CLOCK.now(), clock=CLOCK, lease=timedelta(seconds=60), replica="ghost"
    )
    assert ghost is not None
    assert ghost["_id"] == f"{deadline.id}:T-3d"
    survivor = await start_scheduler("survivor", scheduler_tick_seconds=3600)
    await started_up(survivor)  # its start-up tick finds the reminder held

    assert await survivor.tick() == {}  # the lease still holds
    CLOCK.advance(timedelta(seconds=61))
    assert await survivor.tick() == {"emitted": 1}
    # The ghost wakes up: its claim is gone, so it writes and publishes nothing.
    assert await settle_claimed(survivor, ghost, ghost["fire_at"]) == "lost"
    reminder = await iso_db["reminders"].find_one({"_id": ghost["_id"]})
    assert reminder["status"] == "emitted"
    assert reminder["claims"] == 2
    assert reminder["claimed_by"].startswith("survivor:")
    assert await iso_db["outbox"].count_documents({"subject": application_id}) == 1


async def due_windows(db: AsyncDatabase, count: int) -> list[str]:
    """``count`` rectification windows, each with one reminder due now; their reminder ids."""
    application_id = await make_application(db, contacts(1))
    deadlines = [window(application_id, days=3, reminder_offsets_days=[3]) for _ in range(count)]
    for deadline in deadlines:
        await open_deadline(db, deadline)
    return sorted(f"{d.id}:T-3d" for d in deadlines)


async def outbox_counts(db: AsyncDatabase, reminder_ids: list[str]) -> dict[str, int]:
    """How many outbox entries each reminder's event id has."""
    event_ids = [f"reminder:{r}" for r in reminder_ids]
    found = await db["outbox"].find({"_id": {"$in": event_ids}}, {"_id": 1}).to_list()
    return {e: sum(1 for f in found if f["_id"] == e) for e in event_ids}


@pytest.mark.asyncio
async def test_replicas_claiming_overlapping_batches_emit_each_reminder_once(
    iso: Settings, iso_db: AsyncDatabase, start_scheduler: StartScheduler
) -> None:
    replicas = [
        await start_scheduler(
            name, scheduler_tick_seconds=3600, scheduler_batch_size=7, scheduler_concurrency=3
        )
        for name in ("replica-1", "replica-2")
    ]
    await started_up(*replicas)  # their start-up ticks find nothing
    lease = timedelta(seconds=60)
    overlapping = await due_windows(iso_db, 20)
    # Two claims of the very same candidates: each reminder goes to one of them.
    candidates = await iso_db["reminders"].find({"_id": {"$in": overlapping}}).to_list()
    first, second = await asyncio.gather(
        *(
            claim_batch(iso_db, candidates, clock=CLOCK, lease=lease, replica=r.replica, timeout=10)
            for r in replicas
        )
    )
    claimed = [r["_id"] for r in first.reminders + second.reminders]
    assert sorted(claimed) == overlapping
    # Each settles its own and the other's claim: only the holder's writes match.
    due_by = CLOCK.now()
    outcomes = await asyncio.gather(
        settle_batch(replicas[0], first, due_by),
        settle_batch(replicas[1], second, due_by),
        settle_batch(replicas[0], second, due_by),
        settle_batch(replicas[1], first, due_by),
    )
    assert sum((o.get("emitted", 0) for o in outcomes), 0) == 20
    assert sum((o.get("lost", 0) for o in outcomes), 0) == 20
    # Ticks of both replicas head on, three workers each, over small batches.
    async with EventTap(iso.amqp_url, "deadline.#") as tap:
        raced = await due_windows(iso_db, 40)
        ticks = await asyncio.gather(*(r.tick() for r in replicas + replicas))
        await wait_until(lambda: len({e["id"] for e in tap.events}) >= 40)
        await asyncio.sleep(1.0)  # time for a duplicate to show up, if there were one

    assert sum(t.get("emitted", 0) for t in ticks) == 40
    published = [e["data"]["reminder_id"] for e in tap.events]
    assert sorted(r for r in published if r in set(raced)) == raced  # each once
    counts = await outbox_counts(iso_db, overlapping + raced)
    assert set(counts.values()) == {1}
    emitted = await iso_db["reminders"].count_documents(
        {"_id": {"$in": overlapping + raced}, "status": "emitted", "claims": 1}
    )
    assert emitted == 60


@pytest.mark.asyncio
async def test_batch_abandoned_by_a_killed_replica_is_taken_over_after_its_lease_once(
    iso: Settings, iso_db: AsyncDatabase, start_scheduler: StartScheduler
) -> None:
    survivor = await start_scheduler("survivor", scheduler_tick_seconds=3600)
    await started_up(survivor)  # its start-up tick finds nothing
    reminder_ids = await due_windows(iso_db, 12)
    # A replica claims the batch, then dies before its transaction.
    candidates = await iso_db["reminders"].find({"_id": {"$in": reminder_ids}}).to_list()
    lease = timedelta(seconds=60)
    ghost = await claim_batch(
        iso_db, candidates, clock=CLOCK, lease=lease, replica="ghost", timeout=10
    )
    assert [r["_id"] for r in ghost.reminders] == reminder_ids

    assert await survivor.tick() == {}  # the lease still holds
    CLOCK.advance(timedelta(seconds=61))
    assert await survivor.tick() == {"emitted": 12}
    # The ghost wakes up: its claim is gone, so it writes and stages nothing.
    assert await settle_batch(survivor, ghost, CLOCK.now()) == {"lost": 12}
    assert set((await outbox_counts(iso_db, reminder_ids)).values()) == {1}
    found = await iso_db["reminders"].find({"_id": {"$in": reminder_ids}}).to_list()
    assert {(r["status"], r["claims"], r["claimed_by"].split(":")[0]) for r in found} == {
        ("emitted", 2, "survivor")
    }


@pytest.mark.asyncio
async def test_claim_meeting_a_killed_replicas_open_transaction_gives_up_in_bounded_time(
    iso: Settings, iso_db: AsyncDatabase, start_scheduler: StartScheduler
) -> None:
    survivor = await start_scheduler(
        "survivor", scheduler_tick_seconds=3600, scheduler_claim_timeout_seconds=1
    )
    await started_up(survivor)  # its start-up tick finds nothing
    reminder_ids = await due_windows(iso_db, 5)
    candidates = await iso_db["reminders"].find({"_id": {"$in": reminder_ids}}).to_list()
    ghost = await claim_batch(
        iso_db, candidates, clock=CLOCK, lease=timedelta(seconds=60), replica="ghost", timeout=10
    )
    # The ghost is killed inside its transaction: its writes stay open until the server
    # aborts the transaction (60 s on mongod).
    session = iso_db.client.start_session()
    await session.start_transaction()
    await iso_db["reminders"].update_many(
        {"_id": {"$in": reminder_ids}, "claimed_by": ghost.token},
        {"$set": {"status": "emitted"}},
        session=session,
    )
    CLOCK.advance(timedelta(seconds=61))
    started = time.monotonic()
    assert await survivor.tick() == {}  # gave up the claim, emitted nothing
    assert time.monotonic() - started < 10
    await session.abort_transaction()  # as the server does once the transaction's time is up
    await session.end_session()

    # mongod ends the timed-out claim; SecantusDB may still apply it once unblocked, leased to
    # the survivor's first claim: either way the reminders are taken over after one lease.
    CLOCK.advance(timedelta(seconds=61))
    assert await survivor.tick() == {"emitted": 5}
    assert set((await outbox_counts(iso_db, reminder_ids)).values()) == {1}


@pytest.mark.asyncio
async def test_a_claim_waiting_on_a_settling_transaction_holds_up_none_of_its_statements(
    iso: Settings, iso_db: AsyncDatabase, start_scheduler: StartScheduler
) -> None:
    """A replica settles a batch its lease ran out on; another replica claims it meanwhile.

    The claim waits for the open transaction's writes (as on mongod) and the transaction's
    later statements and its commit go on: nothing waits for the waiting claim.
    """
    reminder_ids = await due_windows(iso_db, 6)
    lease = timedelta(seconds=60)

    async def read_candidates() -> list[dict[str, Any]]:
        found = await iso_db["reminders"].find({"_id": {"$in": reminder_ids}}).to_list()
        return sorted(found, key=lambda r: r["_id"])

    first = await claim_batch(
        iso_db, (await read_candidates())[:3], clock=CLOCK, lease=lease, replica="first", timeout=10
    )
    assert len(first.reminders) == 3
    session = iso_db.client.start_session()
    try:
        await session.start_transaction()
        await iso_db["reminders"].update_one(
            {"_id": reminder_ids[0], "claimed_by": first.token},
            {"$set": {"status": "emitted"}},
            session=session,
        )
        CLOCK.advance(lease + timedelta(seconds=1))  # the first replica's lease has ended
        second = asyncio.create_task(
            claim_batch(
                iso_db,
                await read_candidates(),
                clock=CLOCK,
                lease=lease,
                replica="second",
                timeout=10,
            )
        )
        await asyncio.sleep(0.5)
        assert not second.done()  # waiting on the transaction's write, as on mongod
        started = time.monotonic()
        async with asyncio.timeout(5):  # not stuck behind the waiting claim
            await iso_db["reminders"].update_one(
                {"_id": reminder_ids[1], "claimed_by": first.token},
                {"$set": {"status": "emitted"}},
                session=session,
            )
            await session.commit_transaction()
        assert time.monotonic() - started < 5
    finally:
        if session.in_transaction:
            await session.abort_transaction()
        await session.end_session()
    claimed = await second
    # What the transaction settled stays settled; the rest is the second replica's now.
    assert [r["_id"] for r in claimed.reminders] == reminder_ids[2:]
    settled = await iso_db["reminders"].find({"_id": {"$in": reminder_ids[:2]}}).to_list()
    assert sorted((r["status"], r["claimed_by"]) for r in settled) == [("emitted", first.token)] * 2


@pytest.mark.asyncio
async def test_a_reminder_whose_event_is_in_the_outbox_already_holds_up_no_other_of_its_batch(
    iso: Settings, iso_db: AsyncDatabase, start_scheduler: StartScheduler
) -> None:
    service = await start_scheduler(scheduler_tick_seconds=3600)
    await started_up(service)  # its start-up tick finds nothing
    reminder_ids = await due_windows(iso_db, 5)
    # Its event id is taken (event ids derive from the reminder): it must not be staged again.
    taken = f"reminder:{reminder_ids[2]}"
    await iso_db["outbox"].insert_one({"_id": taken, "status": "sent", "type": "deadline.test"})

    assert await service.tick() == {"emitted": 4, "failed": 1}
    assert set((await outbox_counts(iso_db, reminder_ids)).values()) == {1}
    found = {
        r["_id"]: r["status"]
        for r in await iso_db["reminders"].find({"_id": {"$in": reminder_ids}}).to_list()
    }
    assert found.pop(reminder_ids[2]) == "claimed"  # left to its lease, retried then
    assert set(found.values()) == {"emitted"}


@pytest.mark.asyncio
async def test_restart_after_a_gap_sends_one_catch_up_email_not_a_flood(
    iso: Settings,
    iso_db: AsyncDatabase,
    smtp: dict[str, Any],
    notifier: ServiceContext,
    start_scheduler: StartScheduler,
) -> None:
    emails = contacts(1)
    application_id = await make_application(iso_db, emails, status="rectification_requested")
    deadline = window(application_id, days=30)
    await open_deadline(iso_db, deadline)
    before = await start_scheduler("before")
    assert await before.tick() == {}
    await before.close()

    CLOCK.advance(timedelta(days=28))  # T-14d, T-7d and T-3d passed while it was down
    await start_scheduler("after")
    await wait_until(lambda: len(mails_to(smtp["maildir"], set(emails))) >= 1)
    await asyncio.sleep(1.0)
    mails = mails_to(smtp["maildir"], set(emails))
    assert [subject_of(m).split(":")[0] for m in mails] == ["Rectification due in 2 days"]
    reminders = {
        r["point"]: r
        for r in await iso_db["reminders"].find({"deadline_id": deadline.id}).to_list()
    }
    assert reminders["T-3d"]["status"] == "emitted"
    for older in ("T-14d", "T-7d"):
        assert reminders[older]["status"] == "skipped"
        assert "superseded by T-3d" in reminders[older]["skipped_reason"]
    assert (reminders["T-1d"]["status"], reminders["due"]["status"]) == ("pending", "pending")


@pytest.mark.asyncio
async def test_missed_rectification_window_moves_the_application_and_sends_the_missed_notice(
    iso: Settings,
    iso_db: AsyncDatabase,
    smtp: dict[str, Any],
    notifier: ServiceContext,
    start_scheduler: StartScheduler,
) -> None:
    emails = contacts(1)
    application_id = await make_application(iso_db, emails, status="rectification_requested")
    await record_missing(iso_db, application_id, ["Floor plan marked with size and unit"])
    deadline = window(application_id, days=1, reminder_offsets_days=[], on_missed="failed")
    await open_deadline(iso_db, deadline)
    async with EventTap(iso.amqp_url) as tap:
        await start_scheduler()
        CLOCK.advance(timedelta(days=1, minutes=1))
        changed = await tap.wait_for("application.status_changed", application_id=application_id)
        missed = await tap.wait_for("deadline.missed", deadline_id=deadline.id)
        await wait_until(lambda: len(mails_to(smtp["maildir"], set(emails))) >= 1)
        await asyncio.sleep(1.0)

    application = await iso_db["applications"].find_one({"_id": application_id})
    assert application["status"] == "failed"
    last = application["history"][-1]
    assert (last["from_status"], last["to_status"], last["actor"]) == (
        "rectification_requested",
        "failed",
        "scheduler",
    )
    assert "rectification window closed" in last["reason"]
    assert changed[0]["causationid"] == missed[0]["id"] == f"reminder:{deadline.id}:due"
    assert missed[0]["data"]["application_status"] == "failed"
    assert (await iso_db["deadlines"].find_one({"_id": deadline.id}))["status"] == "missed"
    # One email: the missed notice (the scheduler's own status change is not told twice).
    [mail] = mails_to(smtp["maildir"], set(emails))
    assert subject_of(mail).startswith("Deadline missed: the rectification window")
    text = body_text(mail)
    assert 'now recorded as "failed"' in text
    assert "  - Floor plan marked with size and unit" in text


@pytest.mark.asyncio
async def test_closing_a_deadline_cancels_its_reminders(
    iso: Settings, iso_db: AsyncDatabase, start_scheduler: StartScheduler
) -> None:
    application_id = await make_application(iso_db, contacts(1))
    deadline = window(application_id, days=20)
    await open_deadline(iso_db, deadline)
    service = await start_scheduler(scheduler_tick_seconds=3600)
    await close_deadline(iso_db, deadline.id, "rectified documents complete", CLOCK.now())
    CLOCK.advance(timedelta(days=30))
    assert await service.tick() == {}
    assert set((await reminder_states(iso_db, deadline.id)).values()) == {"cancelled"}
    assert await iso_db["outbox"].count_documents({"subject": application_id}) == 0


@pytest.mark.asyncio
async def test_application_with_the_authority_too_long_is_reported_to_ops_once(
    iso: Settings,
    iso_db: AsyncDatabase,
    smtp: dict[str, Any],
    notifier: ServiceContext,
    start_scheduler: StartScheduler,
) -> None:
    overdue = await make_application(
        iso_db, contacts(1), status="under_examination", created_at=START - timedelta(days=31)
    )
    recent = await make_application(
        iso_db, contacts(1), status="under_examination", created_at=START - timedelta(days=5)
    )
    service = await start_scheduler(scheduler_tick_seconds=3600)
    await started_up(service)  # the start-up sweep and tick
    assert await service.sweep() == 0  # the start-up sweep opened it already
    await service.tick()
    await wait_until(lambda: len(mails_to(smtp["maildir"], {iso.ops_email})) >= 1)
    [mail] = mails_to(smtp["maildir"], {iso.ops_email})
    assert subject_of(mail).startswith(f"Processing overdue: application {overdue}")
    assert await iso_db["deadlines"].find_one({"_id": f"dl_processing_{recent}"}) is None


@pytest.mark.asyncio
async def test_a_batch_settles_each_reminder_with_its_own_outcome_and_event_id(
    iso: Settings, iso_db: AsyncDatabase, start_scheduler: StartScheduler
) -> None:
    """Reminders of one outcome are written together; each still gets exactly its fields."""
    scheduler = await start_scheduler("grouped", scheduler_tick_seconds=3600)
    await started_up(scheduler)
    reminder_ids = await due_windows(iso_db, 5)
    deadline_ids = [r.split(":")[0] for r in reminder_ids]
    await iso_db["deadlines"].update_one({"_id": deadline_ids[0]}, {"$set": {"status": "closed"}})
    await iso_db["deadlines"].delete_one({"_id": deadline_ids[1]})
    candidates = await iso_db["reminders"].find({"_id": {"$in": reminder_ids}}).to_list()
    claim = await claim_batch(
        iso_db, candidates, clock=CLOCK, lease=timedelta(seconds=60), replica="grouped", timeout=10
    )
    assert len(claim.reminders) == 5

    assert await settle_batch(scheduler, claim, CLOCK.now()) == {"emitted": 3, "cancelled": 2}
    found = {
        r["_id"]: r
        for r in await iso_db["reminders"].find({"_id": {"$in": reminder_ids}}).to_list()
    }
    settled = {
        rid: {
            k: found[rid].get(k) for k in ("status", "event_id", "cancelled_reason", "lease_until")
        }
        for rid in reminder_ids
    }
    assert settled == {
        reminder_ids[0]: {
            "status": "cancelled",
            "event_id": None,
            "cancelled_reason": "deadline closed",
            "lease_until": None,
        },
        reminder_ids[1]: {
            "status": "cancelled",
            "event_id": None,
            "cancelled_reason": "deadline not found",
            "lease_until": None,
        },
        **{
            rid: {
                "status": "emitted",
                "event_id": f"reminder:{rid}",
                "cancelled_reason": None,
                "lease_until": None,
            }
            for rid in reminder_ids[2:]
        },
    }
    assert {found[rid]["emitted_at"] for rid in reminder_ids[2:]} == {CLOCK.now()}
    assert set((await outbox_counts(iso_db, reminder_ids[2:])).values()) == {1}
