"""Scheduler tick cost: how fast a catch-up emits, and does a tick stay flat as
registrations grow from 10,000 to 100,000?

For each size, the renewal deadlines of that many registrations and their pending (future)
reminders (BENCH_POINTS per registration, default 1: the next point) are bulk inserted
with ``insert_many``; then an empty tick is timed (the cost of finding nothing due). Then,
twice, BENCH_DUE reminders (default 1,000) are made due at once, as after a long downtime:
- baseline, one reminder at a time (``claim_due`` then ``settle_claimed`` in a loop, with the
  same workers): one claim and one transaction per reminder, as before batching (the same
  code with batches of one; the candidates read afresh for each claim, and the relay looking
  up each event's partner, as before);
- the tick, which claims them in batches (SCHEDULER_BATCH_SIZE) and settles each batch in
  one transaction.
Both publish what they emit (outbox + confirmed publish). Printed: emitted reminders per
second of both and their ratio against its goal (>= 10), tick times and their ratio between
the sizes against its goal (<= 1.5: the tick reads only due reminders through the index),
MongoDB round trips and CPU time (database server, this process) per reminder.
Sizes: BENCH_SIZES (default "10000,100000"). The baseline runs at the first size only
(BENCH_BASELINE=all: at each size, 0: never): it takes minutes, and its cost per reminder
hardly depends on the registrations (their ratio was 0.8 to 1.3 before batching).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

from bench._env import bench_settings
from bench._services import database_server_pid, process_cpu_seconds
from devtools.clock import ManualClock
from services.scheduler import app as scheduler_app
from services.scheduler.app import SchedulerService
from services.scheduler.claims import claim_due
from services.scheduler.facts import BatchFacts
from services.scheduler.settle import settle_claimed
from shared.domain.deadlines import DEFAULT_OFFSETS_DAYS
from shared.infra.db import MONGODB_COMMANDS
from shared.infra.partner_routing import UNKNOWN

SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "10000,100000").split(",")]
DUE = int(os.environ.get("BENCH_DUE", "1000"))
POINTS = int(os.environ.get("BENCH_POINTS", "1"))
# Where the one-at-a-time baseline runs: "first" size (default), "all" sizes, or "0" none.
BASELINE = os.environ.get("BENCH_BASELINE", "first")
SETTLE_SECONDS = 3.0
BATCH = 5000
PARALLEL_BATCHES = 2
RATE_GOAL = 10.0  # emitted/s of the tick over the one-at-a-time baseline, at each size
RATIO_GOAL = 1.5  # tick time at the largest size over the smallest
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
    """``count`` reminders of existing deadlines, due a minute ago (a second apart)."""
    return [
        {
            "_id": f"dl_{n}:T-180d",
            "deadline_id": f"dl_{n}",
            "kind": "renewal",
            "subject": f"CHN-BENCH-{n:07d}",
            "point": "T-180d",
            "event_type": "deadline.renewal_due",
            "fire_at": now - timedelta(minutes=1, seconds=n - start),
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


def round_trips() -> Counter[str]:
    """MongoDB commands this process has sent so far, by name (MONGODB_COMMAND_COUNTING)."""
    samples = MONGODB_COMMANDS.collect()[0].samples
    return Counter(
        {s.labels["command"]: s.value for s in samples if s.name.endswith("_total") and s.value}
    )


@dataclass
class Run:
    """One catch-up: reminders emitted, seconds, and the cost per reminder."""

    emitted: int
    seconds: float
    commands: dict[str, float]  # MongoDB round trips per reminder, by command
    server_cpu_ms: float  # per reminder, the database server
    own_cpu_ms: float  # per reminder, this process (the scheduler's code)

    @property
    def rate(self) -> float:
        return self.emitted / self.seconds

    @property
    def round_trips(self) -> float:
        return sum(self.commands.values())


async def timed(server_pid: int | None, work: Callable[[], Awaitable[Counter[str]]]) -> Run:
    def server() -> float:
        return process_cpu_seconds(server_pid) if server_pid else float("nan")

    trips, server_cpu, own_cpu = round_trips(), server(), time.process_time()
    started = time.perf_counter()
    outcomes = await work()
    seconds = time.perf_counter() - started
    emitted = max(1, outcomes.get("emitted", 0))
    commands = round_trips() - trips
    return Run(
        outcomes.get("emitted", 0),
        seconds,
        {name: count / emitted for name, count in commands.most_common()},
        (server() - server_cpu) / emitted * 1000,
        (time.process_time() - own_cpu) / emitted * 1000,
    )


async def one_at_a_time(service: SchedulerService, lease: timedelta) -> Counter[str]:
    """The path before this round: each worker claims one reminder, then settles it alone,
    and the relay looks up each event's partner (before, no outbox entry carried it)."""
    due_by = service.clock.now()
    outcomes: Counter[str] = Counter()

    async def worker() -> None:
        while reminder := await claim_due(
            service.db, due_by=due_by, clock=service.clock, lease=lease, replica="baseline"
        ):
            outcomes[await settle_claimed(service, reminder, due_by)] += 1

    with patch.object(BatchFacts, "partner_of", lambda *_: UNKNOWN):
        await asyncio.gather(*(worker() for _ in range(service.settings.scheduler_concurrency)))
    return outcomes


async def tick(service: SchedulerService) -> Counter[str]:
    return Counter(await service.tick())


async def measure(
    service: SchedulerService, clock: ManualClock, server_pid: int | None, size: int, have: int
) -> dict[str, Any]:
    inserted = await bulk_insert(service, have, size - have)
    await asyncio.sleep(SETTLE_SECONDS)  # let the server finish writing behind the inserts
    empty = []
    for _ in range(5):
        started = time.perf_counter()
        await service.tick()
        empty.append(time.perf_counter() - started)
    lease = timedelta(seconds=service.settings.scheduler_lease_seconds)
    runs: dict[str, Run] = {}
    # The due reminders belong to registrations that had none due before.
    first = have
    modes: list[tuple[str, Callable[[], Awaitable[Counter[str]]]]] = [
        ("tick", lambda: tick(service))
    ]
    if BASELINE == "all" or (BASELINE == "first" and have == 0):
        modes.insert(0, ("baseline", lambda: one_at_a_time(service, lease)))
    for mode, work in modes:
        clock.advance(timedelta(hours=1))
        due = due_reminders(first, DUE, clock.now())
        await service.db["reminders"].insert_many(due, ordered=False)
        first += DUE
        runs[mode] = await timed(server_pid, work)
    return {
        "size": size,
        "inserted_s": inserted,
        "empty_tick_ms": statistics.median(empty) * 1000,
        "runs": runs,
        "reminders_total": await service.db["reminders"].estimated_document_count(),
    }


async def run() -> None:
    clock = ManualClock(NOW)
    with bench_settings() as (settings, _vhost):
        tuned = settings.model_copy(
            update={"scheduler_tick_seconds": 86400.0, "mongodb_command_counting": True}
        )
        server_pid = database_server_pid(settings.mongodb_url)
        service = await scheduler_app.start(tuned, clock, replica="bench")
        await asyncio.sleep(0.5)  # the start-up tick and sweep find nothing
        results, have = [], 0
        try:
            for size in SIZES:
                results.append(await measure(service, clock, server_pid, size, have))
                have = size
        finally:
            await service.close()
    report(results, tuned.scheduler_concurrency, tuned.scheduler_batch_size)


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(results: list[dict[str, Any]], concurrency: int, batch_size: int) -> None:
    print(
        f"scheduler catch-up: {DUE:,} reminders due at once, {concurrency} workers per replica; "
        f"tick: batches of {batch_size}, one claim and one transaction per batch; "
        "baseline (same run): one claim and one transaction per reminder, the relay looking up each partner, as before this round"
    )
    print(
        f"{'registrations':>13} {'reminders':>10} {'insert s':>9} {'empty tick ms':>14} "
        f"{'mode':>9} {'s':>7} {'emitted/s':>10} {'round trips':>12} {'db cpu ms':>10} "
        f"{'own cpu ms':>11}"
    )
    for r in results:
        for mode, run in r["runs"].items():
            print(
                f"{r['size']:>13,} {r['reminders_total']:>10,} {r['inserted_s']:>9.1f} "
                f"{r['empty_tick_ms']:>14.1f} {mode:>9} {run.seconds:>7.2f} {run.rate:>10.1f} "
                f"{run.round_trips:>12.2f} {run.server_cpu_ms:>10.2f} {run.own_cpu_ms:>11.2f}"
            )
    print(
        "round trips, db cpu ms, own cpu ms: per emitted reminder (MongoDB commands sent; CPU "
        "of the database server; CPU of this process, where the scheduler runs)"
    )
    for r in results:
        for mode, run in r["runs"].items():
            by_command = ", ".join(
                f"{name} {n:.2f}" for name, n in run.commands.items() if n >= 0.01
            )
            print(f"  round trips at {r['size']:,}, {mode}: {by_command}")
    baseline = next((r for r in results if "baseline" in r["runs"]), None)
    for r in results:
        if baseline is None:
            break
        base = r["runs"].get("baseline") or baseline["runs"]["baseline"]
        tick_rate = r["runs"]["tick"].rate
        times = tick_rate / base.rate
        at = r["size"] if "baseline" in r["runs"] else baseline["size"]
        print(
            f"emitted/s at {r['size']:,} registrations: tick {tick_rate:.1f}, baseline "
            f"{base.rate:.1f} (at {at:,}): {times:.1f}x "
            f"(goal >= {RATE_GOAL:g}x: {met(times >= RATE_GOAL)})"
        )
    if len(results) < 2:
        return
    small, large = results[0], results[-1]
    ratio = large["runs"]["tick"].seconds / small["runs"]["tick"].seconds
    empty = large["empty_tick_ms"] / small["empty_tick_ms"]
    print(
        f"tick time {large['size']:,} / {small['size']:,} registrations: {ratio:.2f} "
        f"(goal <= {RATIO_GOAL:g}: {met(ratio <= RATIO_GOAL)}); empty tick {empty:.2f} "
        "(near 1 = the tick reads no registration)"
    )


if __name__ == "__main__":
    asyncio.run(run())
