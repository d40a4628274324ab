"""Validator benchmark: validations/s for a 30-document application, how the cost of one
validation grows with 10, 100 and 1,000 documents on one application, for the pure
evaluation and for the validator's whole database path (load, evaluate, fingerprint, store),
and a stream of ``document.received`` events through the handler: MongoDB round trips (by
command) and process CPU per document, per path.

    .venv/bin/python bench/validator.py            # everything
    .venv/bin/python bench/validator.py stream     # only the stream (for a profiler)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._env import bench_settings  # noqa: E402
from services.validator.handlers import on_document_received, revalidate  # noqa: E402
from shared.domain.catalog import Catalog, load_catalog  # noqa: E402
from shared.domain.evaluation import evaluate  # noqa: E402
from shared.domain.events import CloudEvent, DocumentReceived, new_event  # noqa: E402
from shared.infra.db import MONGODB_COMMANDS  # noqa: E402
from shared.infra.runtime import ServiceContext, open_context  # noqa: E402

SIZES = (10, 100, 1000)
SUBMITTED = datetime(2019, 3, 1, 9, tzinfo=UTC)
NOW = datetime(2019, 3, 2, tzinfo=UTC)


def application(app_id: str) -> dict[str, Any]:
    return {
        "_id": app_id,
        "partner_id": "ptn_bench",
        "exporter": {"name": "Bench Scrap AB", "country": "SE", "contact_emails": []},
        "category": "scrap.metal",
        "kind": "renewal",
        "status": "under_examination",
        "registration_number": "AQSIQ-BENCH",
        "registration_valid_until": datetime(2020, 6, 30, tzinfo=UTC),
        "history": [],
        "created_at": SUBMITTED,
        "updated_at": SUBMITTED,
    }


def documents(app_id: str, count: int) -> list[dict[str, Any]]:
    """A complete seed 000 renewal, padded with facility photos up to ``count`` documents."""
    specs: list[tuple[str, str, dict[str, Any]]] = [
        ("e_system_account", "application/pdf", {"language": "en"})
    ]
    specs += [
        (
            "ccic_certificate",
            "application/pdf",
            {"year": y, "material": "metal", "issue_date": f"{y}-06-01"},
        )
        for y in (2016, 2017, 2018)
    ]
    for kind in ("business_registration", "tax_registration"):
        specs.append(
            (
                kind,
                "application/pdf",
                {"language": "zh", "notarized": True, "expiry_date": "2030-01-01"},
            )
        )
    specs += [
        ("floor_plan", "application/pdf", {}),
        ("certificate_copy", "application/pdf", {"colour": True}),
    ]
    while len(specs) < count:
        specs.append(("facility_photo", "image/jpeg", {}))
    return [
        {
            "_id": f"doc_{uuid.uuid4().hex}",
            "application_id": app_id,
            "partner_id": "ptn_bench",
            "document_type": kind,
            "filename": f"{kind}_{i}",
            "content_type": content_type,
            "size": 50_000,
            "sha256": uuid.uuid4().hex * 2,
            "metadata": metadata,
            "received_at": SUBMITTED,
        }
        for i, (kind, content_type, metadata) in enumerate(specs[:count])
    ]


def time_pure(catalog: Catalog, count: int, budget: float = 1.5) -> float:
    """Seconds per evaluation (median of batches) of an application with ``count`` documents."""
    app, docs = application("app_bench"), documents("app_bench", count)
    samples: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < budget or len(samples) < 5:
        t0 = time.perf_counter()
        evaluate(catalog, app, docs, NOW)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


async def time_db(ctx: ServiceContext, catalog: Catalog, count: int, rounds: int) -> float:
    """Seconds per revalidation through MongoDB; each round follows one new document."""
    app_id = f"app_{uuid.uuid4().hex}"
    await ctx.db["applications"].insert_one(application(app_id))
    await ctx.db["documents"].insert_many(documents(app_id, count))
    samples: list[float] = []
    for _ in range(rounds):
        await ctx.db["documents"].insert_one(
            documents(app_id, 1)[0] | {"document_type": "facility_photo"}
        )
        cause = CloudEvent(
            source="urn:regwatch:bench", type="document.received", time=NOW, data={}, subject=app_id
        )
        t0 = time.perf_counter()
        result = await revalidate(ctx, catalog, application_id=app_id, cause=cause, progress=False)
        samples.append(time.perf_counter() - t0)
        assert result is not None, "each round must store a new result"
    return statistics.median(samples)


def growth_table(title: str, timings: dict[int, float]) -> None:
    base = timings[SIZES[0]]
    print(f"\n{title}")
    print(f"{'documents':>10} {'ms/validation':>14} {'x of 10 docs':>13} {'us/document':>12}")
    for size, seconds in timings.items():
        print(
            f"{size:>10} {seconds * 1000:>14.3f} {seconds / base:>13.1f} {seconds / size * 1e6:>12.1f}"
        )


# The stream: dairy applications of five documents each (as bench/intake.py sends them), the
# documents of an application arriving in groups; the validator handles a group's events
# after the group is stored, so the first event of a group finds new documents (a full
# evaluation) and the others find them already evaluated. Then every event is delivered again.
STREAM_APPLICATIONS = 40
GROUPS = (1, 2, 2)
PATHS = ("new document", "already evaluated", "redelivery")


def dairy_application(app_id: str) -> dict[str, Any]:
    return {
        "_id": app_id,
        "partner_id": "ptn_bench",
        "exporter": {"name": "Bench Dairy", "country": "NZ", "contact_emails": []},
        "category": "food.dairy",
        "product": "milk_powder",
        "kind": "new",
        "status": "submitted",
        "history": [],
        "created_at": NOW,
        "updated_at": NOW,
    }


def pdf_document(app_id: str, index: int) -> dict[str, Any]:
    return {
        "_id": f"doc_{uuid.uuid4().hex}",
        "application_id": app_id,
        "partner_id": "ptn_bench",
        "document_type": "facility_photo" if index % 2 else "application_form",
        "filename": f"bench_{index}.pdf",
        "content_type": "application/pdf",
        "size": 100_000,
        "sha256": uuid.uuid4().hex * 2,
        "metadata": {"language": "zh"},
        "received_at": NOW,
    }


def received_event(document: dict[str, Any]) -> tuple[CloudEvent, DocumentReceived]:
    fields = {k: v for k, v in document.items() if k != "_id"}
    payload = DocumentReceived(document_id=document["_id"], **fields)
    event = new_event(
        "document.received", payload, service="intake", time=NOW, subject=document["application_id"]
    )
    return event, payload


def commands_sent() -> Counter[str]:
    """MongoDB commands this process has sent so far, by name (MONGODB_COMMAND_COUNTING)."""
    return Counter(
        {
            sample.labels["command"]: int(sample.value)
            for metric in MONGODB_COMMANDS.collect()
            for sample in metric.samples
            if sample.name.endswith("_total")
        }
    )


@dataclass
class PathUsage:
    events: int = 0
    cpu: float = 0.0
    commands: Counter[str] = field(default_factory=Counter)

    def add(self, cpu: float, commands: Counter[str]) -> None:
        self.events += 1
        self.cpu += cpu
        self.commands.update(commands)

    def line(self, name: str) -> str:
        per = {k: v / self.events for k, v in self.commands.items() if v}
        trips = sum(per.values())
        detail = ", ".join(f"{k} {v:.2f}" for k, v in sorted(per.items(), key=lambda c: -c[1]))
        return (
            f"  {name:<20} {self.events:>6} {trips:>12.2f} {self.cpu / self.events * 1000:>8.2f}"
            f"  ({detail})"
        )


async def handle(ctx: ServiceContext, catalog: Catalog, usage: PathUsage, document: Any) -> None:
    event, payload = document
    before, cpu = commands_sent(), time.process_time()
    await on_document_received(ctx, catalog, event, payload)
    cpu = time.process_time() - cpu
    after = commands_sent()
    after.subtract(before)
    usage.add(cpu, after)


async def stream(ctx: ServiceContext, catalog: Catalog, applications: int) -> dict[str, PathUsage]:
    """Round trips and CPU per ``document.received``, by path and for the whole stream."""
    usage = {name: PathUsage() for name in PATHS}
    events = []
    app_ids = [f"app_{uuid.uuid4().hex}" for _ in range(applications)]
    await ctx.db["applications"].insert_many([dairy_application(a) for a in app_ids])
    for app_id in app_ids:
        index = 0
        for size in GROUPS:
            group = [pdf_document(app_id, index + i) for i in range(size)]
            index += size
            await ctx.db["documents"].insert_many(group)
            for position, document in enumerate(group):
                events.append(received_event(document))
                path = "new document" if position == 0 else "already evaluated"
                await handle(ctx, catalog, usage[path], events[-1])
    for event in events:
        await handle(ctx, catalog, usage["redelivery"], event)
    return usage


async def bare_command_cpu(ctx: ServiceContext, count: int = 400) -> float:
    """Process CPU seconds of one bare round trip (find_one by _id) on the same client."""
    await ctx.db["applications"].find_one({"_id": "none"})
    started = time.process_time()
    for _ in range(count):
        await ctx.db["applications"].find_one({"_id": "none"})
    return (time.process_time() - started) / count


def stream_table(usage: dict[str, PathUsage], pure_seconds: float, bare: float) -> None:
    print(
        f"\nstream of document.received, {STREAM_APPLICATIONS} dairy applications of "
        f"{sum(GROUPS)} documents arriving in groups of {', '.join(map(str, GROUPS))}"
    )
    print(f"  {'path':<20} {'events':>6} {'round trips':>12} {'CPU ms':>8}  (by command)")
    first = PathUsage()
    for name in PATHS:
        print(usage[name].line(name))
        if name != "redelivery":
            first.events += usage[name].events
            first.cpu += usage[name].cpu
            first.commands.update(usage[name].commands)
    print(first.line("first deliveries"))
    print(
        f"  CPU per first delivery / pure evaluation of the same application: "
        f"{first.cpu / first.events / pure_seconds:,.1f}x"
    )
    print(
        f"  CPU per first delivery / one bare round trip (find_one by _id, "
        f"{bare * 1000:.2f} ms here): {first.cpu / first.events / bare:,.1f}x"
    )


def time_pure_dairy(catalog: Catalog, count: int = 5, budget: float = 1.0) -> float:
    app = dairy_application("app_bench")
    docs = [pdf_document("app_bench", i) for i in range(count)]
    samples: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < budget or len(samples) < 5:
        t0 = time.process_time()
        evaluate(catalog, app, docs, NOW)
        samples.append(time.process_time() - t0)
    return statistics.mean(samples)


async def stream_only(catalog: Catalog, applications: int) -> None:
    with bench_settings() as (settings, _vhost):
        settings = settings.model_copy(update={"mongodb_command_counting": True})
        ctx = await open_context("validator", settings)
        try:
            usage = await stream(ctx, catalog, applications)
            bare = await bare_command_cpu(ctx)
        finally:
            await ctx.close()
    stream_table(usage, time_pure_dairy(catalog), bare)


async def main() -> None:
    catalog = load_catalog()
    if sys.argv[1:] == ["stream"]:
        await stream_only(catalog, STREAM_APPLICATIONS)
        return
    print(f"catalog {catalog.version}; scrap.metal renewal (seed 000 list, padded with photos)")
    pure_30 = time_pure(catalog, 30)
    print(f"pure evaluation, 30 documents: {1 / pure_30:,.0f} validations/s")
    growth_table("pure evaluation", {n: time_pure(catalog, n) for n in SIZES})
    with bench_settings() as (settings, _vhost):
        settings = settings.model_copy(update={"mongodb_command_counting": True})
        ctx = await open_context("validator", settings)
        try:
            usage = await stream(ctx, catalog, STREAM_APPLICATIONS)
            stream_table(usage, time_pure_dairy(catalog), await bare_command_cpu(ctx))
            db_30 = await time_db(ctx, catalog, 30, rounds=40)
            print(
                f"\nwith the database, 30 documents: {1 / db_30:,.0f} validations/s "
                f"({db_30 / pure_30:,.0f}x the pure evaluation)"
            )
            db = {n: await time_db(ctx, catalog, n, rounds=15 if n < 1000 else 6) for n in SIZES}
            growth_table(
                "with the database (load, evaluate, fingerprint, store, outbox, publish)", db
            )
            print("\nshare of the database path spent in the pure evaluation:")
            for n in SIZES:
                print(f"{n:>10} documents: {time_pure(catalog, n, budget=0.3) / db[n]:.0%}")
        finally:
            await ctx.close()


if __name__ == "__main__":
    asyncio.run(main())
