"""Scheduler tick cost: does a tick stay flat as registrations grow from 10,000 to 100,000?

For each size, the renewal deadlines of that many registrations and their pending (future)
reminders (BENCH_POINTS per registration, default 1: the next point) are bulk inserted
with ``insert_many``; then an empty tick is timed (the cost of
finding nothing due), then 1,000 reminders are made due and one tick claims, settles and
publishes them all (outbox + confirmed publish). Printed: tick times, the ratio between the
sizes (near 1 means the tick reads only due reminders through the index) and reminders
emitted per second. Sizes: BENCH_SIZES (default "10000,100000"), BENCH_DUE (default 1000).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._env import bench_settings
from devtools.clock import ManualClock
from services.scheduler import app as scheduler_app
from services.scheduler import tick as tick_module
from services.scheduler.app import SchedulerService
from shared.domain.deadlines import DEFAULT_OFFSETS_DAYS

SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "10000,100000").split(",")]
DUE = int(os.environ.get("BENCH_DUE", "1000"))
POINTS = int(os.environ.get("BENCH_POINTS", "1"))
SETTLE_SECONDS = 3.0
BATCH = 5000
PARALLEL_BATCHES = 2
NOW = datetime(2031, 1, 1, tzinfo=UTC)


def registration_documents(start: int, count: int) -> dict[str, list[dict[str, Any]]]:
    """Renewal deadlines of ``count`` registrations and POINTS pending future reminders each.

    The deadlines carry the exporter, product and contacts (as the registrations import
    writes them), so no registrations collection is needed for the tick to find them.
    """
    deadlines, reminders = [], []
    for n in range(start, start + count):
        number = f"CHN-BENCH-{n:07d}"
        expires = NOW + timedelta(days=200 + n % 1500)
        due = expires - timedelta(days=90)
        deadlines.append(
            {
                "_id": f"dl_{n}",
                "kind": "renewal",
                "subject": number,
                "due_at": due,
                "expires_at": expires,
                "opened_at": NOW,
                "status": "open",
                "reminder_offsets_days": DEFAULT_OFFSETS_DAYS["renewal"],
                "registration_number": number,
                "exporter_name": f"Exporter {n}",
                "product": "Cheese",
                "contact_emails": [f"export{n}@bench.example"],
            }
        )
        for days in DEFAULT_OFFSETS_DAYS["renewal"][-POINTS:]:
            reminders.append(
                {
                    "_id": f"dl_{n}:T-{days}d",
                    "deadline_id": f"dl_{n}",
                    "kind": "renewal",
                    "subject": number,
                    "point": f"T-{days}d",
                    "event_type": "deadline.renewal_due",
                    "fire_at": due - timedelta(days=days),
                    "status": "pending",
                    "lease_until": None,
                }
            )
    return {"deadlines": deadlines, "reminders": reminders}


def due_reminders(start: int, count: int, now: datetime) -> list[dict[str, Any]]:
    """``count`` reminders of existing deadlines, due a minute ago."""
    return [
        {
            "_id": f"dl_{n}:T-180d",
            "deadline_id": f"dl_{n}",
            "kind": "renewal",
            "subject": f"CHN-BENCH-{n:07d}",
            "point": "T-180d",
            "event_type": "deadline.renewal_due",
            "fire_at": now - timedelta(minutes=1),
            "status": "pending",
            "lease_until": None,
        }
        for n in range(start, start + count)
    ]


async def bulk_insert(service: SchedulerService, start: int, count: int) -> float:
    """Insert in batches, a few at a time (the server takes concurrent batches faster)."""
    started = time.perf_counter()
    offsets = list(range(start, start + count, BATCH))
    for group in range(0, len(offsets), PARALLEL_BATCHES):
        inserts = []
        for offset in offsets[group : group + PARALLEL_BATCHES]:
            documents = registration_documents(offset, min(BATCH, start + count - offset))
            inserts += [
                service.db[name].insert_many(docs, ordered=False)
                for name, docs in documents.items()
            ]
        await asyncio.gather(*inserts)
    return time.perf_counter() - started


class Stopwatch:
    """Seconds spent in a coroutine function, summed over the tick's workers."""

    def __init__(self, owner: Any, name: str) -> None:
        self.seconds, self.count = 0.0, 0
        wrapped = getattr(owner, name)

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await wrapped(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.count += 1

        setattr(owner, name, timed)

    def reset(self) -> None:
        self.seconds, self.count = 0.0, 0


async def timed_tick(service: SchedulerService) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    outcomes = await service.tick()
    return time.perf_counter() - started, outcomes


async def measure(
    service: SchedulerService,
    clock: ManualClock,
    watches: dict[str, Stopwatch],
    size: int,
    have: int,
) -> dict[str, Any]:
    inserted = await bulk_insert(service, have, size - have)
    await asyncio.sleep(SETTLE_SECONDS)  # let the server finish writing behind the inserts
    empty = [(await timed_tick(service))[0] for _ in range(5)]
    clock.advance(timedelta(hours=1))
    # The due reminders belong to registrations that had none due before.
    first = have
    await service.db["reminders"].insert_many(due_reminders(first, DUE, clock.now()), ordered=False)
    for watch in watches.values():
        watch.reset()
    elapsed, outcomes = await timed_tick(service)
    return {
        "size": size,
        "inserted_s": inserted,
        "empty_tick_ms": statistics.median(empty) * 1000,
        "tick_s": elapsed,
        "publish_ms": watches["publish"].seconds / max(1, watches["publish"].count) * 1000,
        # Work of the workers (claims and settling), without the relay's publish.
        "work_s": watches["claim"].seconds + watches["settle"].seconds - watches["publish"].seconds,
        "outbox": await service.db["outbox"].estimated_document_count(),
        "emitted": outcomes.get("emitted", 0),
        "rate": outcomes.get("emitted", 0) / elapsed,
        "reminders_total": await service.db["reminders"].estimated_document_count(),
    }


async def run() -> None:
    clock = ManualClock(NOW)
    with bench_settings() as (settings, _vhost):
        tuned = settings.model_copy(update={"scheduler_tick_seconds": 86400.0})
        service = await scheduler_app.start(tuned, clock, replica="bench")
        await asyncio.sleep(0.5)  # the start-up tick and sweep find nothing
        results, have = [], 0
        watches = {
            "claim": Stopwatch(tick_module, "claim_due"),
            "settle": Stopwatch(tick_module, "settle_claimed"),
            "publish": Stopwatch(service.relay, "publish_leased"),
        }
        try:
            for size in SIZES:
                results.append(await measure(service, clock, watches, size, have))
                have = size
        finally:
            await service.close()
    report(results, tuned.scheduler_concurrency)


def report(results: list[dict[str, Any]], concurrency: int) -> None:
    print(f"scheduler tick, {DUE} due reminders per tick, {concurrency} workers per replica")
    print(
        f"{'registrations':>13} {'reminders':>10} {'insert s':>9} {'empty tick ms':>14} "
        f"{'tick s':>7} {'work s':>7} {'publish ms':>11} {'outbox':>7} {'emitted/s':>10}"
    )
    for r in results:
        print(
            f"{r['size']:>13,} {r['reminders_total']:>10,} {r['inserted_s']:>9.1f} "
            f"{r['empty_tick_ms']:>14.1f} {r['tick_s']:>7.2f} {r['work_s']:>7.2f} {r['publish_ms']:>11.1f} "
            f"{r['outbox']:>7,} {r['rate']:>10.1f}"
        )
    if len(results) < 2:
        return
    small, large = results[0], results[-1]

    def ratio(key: str) -> float:
        return float(large[key] / small[key])

    print(
        f"ratio {large['size']:,} / {small['size']:,} registrations: tick {ratio('tick_s'):.2f}, "
        f"work without publish {ratio('work_s'):.2f}, empty tick {ratio('empty_tick_ms'):.2f} "
        f"(near 1 = the tick reads no registration), mean publish {ratio('publish_ms'):.2f}"
    )
    print(
        "work s: claiming and settling summed over the workers, publish excluded; "
        "publish ms: one confirmed publish and its mark-sent per event (the entry is "
        "written leased to the tick's relay, so no claim reads the outbox)"
    )


if __name__ == "__main__":
    asyncio.run(run())
