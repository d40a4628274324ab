"""Validator benchmark: validations/s for a 30-document application, and how the cost of one
validation grows with 10, 100 and 1,000 documents on one application, for the pure
evaluation and for the validator's whole database path (load, evaluate, fingerprint, store).

    .venv/bin/python bench/validator.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._env import bench_settings  # noqa: E402
from services.validator.handlers import revalidate  # noqa: E402
from shared.domain.catalog import Catalog, load_catalog  # noqa: E402
from shared.domain.evaluation import evaluate  # noqa: E402
from shared.domain.events import CloudEvent  # noqa: E402
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


async def main() -> None:
    catalog = load_catalog()
    print(f"catalog {catalog.version}; scrap.metal renewal (seed 000 list, padded with photos)")
    pure_30 = time_pure(catalog, 30)
    print(f"pure evaluation, 30 documents: {1 / pure_30:,.0f} validations/s")
    growth_table("pure evaluation", {n: time_pure(catalog, n) for n in SIZES})
    with bench_settings() as (settings, _vhost):
        ctx = await open_context("validator", settings)
        try:
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
