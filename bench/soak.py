"""Soak: documents at 80% of the measured pipeline capacity for 60 s with every service
running in its own process. Reports queue depths over time (they must stay bounded) and
each service's memory at start and end (it must stay flat).

The capacity is that of the whole pipeline, not of the intake alone: a burst of ``BURST``
documents, timed until every service has worked through it (the documents stored and every
consumer queue empty again). A burst stored by the intake alone finishes before the reader
and the validator are busy with it, so its rate is several times what the services sustain
together on the same cores, and a soak at 80% of it only shows queues growing."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from urllib.parse import quote

import aio_pika
from pymongo import AsyncMongoClient

from bench._env import bench_settings
from devtools.local_infra import free_port
from shared.infra.settings import Settings
from shared.infra.topology import INTAKE_EXCHANGE, SUBMIT_ROUTING_KEY
from tests.factories import make_application, make_partner
from tests.processes import ServiceProcess, service_env, wait_for_consumers
from tests.servers import management_request
from tests.support import sample_pdf

SOAK_SECONDS = int(os.environ.get("BENCH_SOAK_SECONDS", "60"))
BURST = 200
DRAIN_SECONDS = 60.0  # keeps the script bounded; what is still queued then is reported
PREFETCH = 32
DOCS_PER_APPLICATION = 10
ROOT = Path(__file__).resolve().parents[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def queue_depths(management_url: str, vhost: str) -> dict[str, int]:
    queues = management_request(management_url, "GET", f"queues/{quote(vhost, safe='')}")
    return {
        q["name"]: int(q.get("messages", 0)) for q in queues if q["name"].startswith("regwatch.")
    }


class Stream:
    def __init__(self, amqp_url: str, db, partner_id: str) -> None:
        self.amqp_url = amqp_url
        self.db = db
        self.partner_id = partner_id
        self.sent = 0
        self.application_id = ""

    async def __aenter__(self) -> Stream:
        self.connection = await aio_pika.connect(self.amqp_url)
        self.channel = await self.connection.channel(publisher_confirms=True)
        self.exchange = await self.channel.get_exchange(INTAKE_EXCHANGE.name)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connection.close()

    async def send(self) -> None:
        if self.sent % DOCS_PER_APPLICATION == 0:
            self.application_id = await make_application(self.db, self.partner_id)
        self.sent += 1
        await self.exchange.publish(
            aio_pika.Message(
                sample_pdf(f"soak {self.sent} {time.time_ns()}"),
                message_id=f"soak-{self.sent}-{time.time_ns()}",
                content_type="application/pdf",
                user_id="guest",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers={
                    "x-application-id": self.application_id,
                    "x-document-type": "business_licence",
                    "x-filename": f"soak-{self.sent}.pdf",
                },
            ),
            routing_key=SUBMIT_ROUTING_KEY,
        )


async def stored(db) -> int:
    # The collection's own count: count_documents({}) reads every document on SecantusDB,
    # which would load the server under test five times a second.
    return await db["documents"].estimated_document_count()


async def wait_for_stored(db, count: int, timeout: float) -> float:
    started = time.perf_counter()
    while await stored(db) < count:
        if time.perf_counter() - started > timeout:
            break
        await asyncio.sleep(0.2)
    return time.perf_counter() - started


def consumed(depths: dict[str, int]) -> int:
    """Messages waiting in the queues that services consume (not the dead letters)."""
    return sum(n for name, n in depths.items() if name != "regwatch.dead_letters")


async def wait_for_pipeline(
    db, settings: Settings, vhost: dict[str, str], count: int, timeout: float
) -> float:
    """Seconds until ``count`` documents are stored and read (the reader, the slowest
    consumer, has recorded their facts) and every consumer queue is empty. The queues are
    judged last, once the database shows the work done: the broker's statistics lag by up to
    their interval, and a queue still empty in them at the start would end the wait early."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if (
            await stored(db) >= count
            and await db["document_facts"].estimated_document_count() >= count
            and consumed(await depths_now(settings, vhost)) == 0
        ):
            break
        await asyncio.sleep(0.5)
    return time.perf_counter() - started


async def depths_now(settings: Settings, vhost: dict[str, str]) -> dict[str, int]:
    return await asyncio.to_thread(queue_depths, settings.rabbitmq_management_url, vhost["vhost"])


def growing(samples: list[tuple[float, dict[str, int]]]) -> dict[str, tuple[int, int]]:
    """Queues whose depth kept rising through the soak (first, last sample during it).

    Bounded means the consumers keep up with the offered rate: a queue may hold a
    prefetch's worth, but not grow sample after sample.
    """
    during = [depths for at, depths in samples if at <= SOAK_SECONDS][1:]  # [0]: before load
    if len(during) < 3:
        return {}
    first, middle, last = during[0], during[len(during) // 2], during[-1]
    return {
        name: (first.get(name, 0), last[name])
        for name in last
        if last[name] > 2 * PREFETCH and last[name] > middle.get(name, 0) > first.get(name, 0)
    }


async def main() -> None:
    with bench_settings() as (settings, vhost):
        names = [p.parent.name for p in sorted((ROOT / "services").glob("*/__main__.py"))]
        names = [n for n in names if n != "cli"]
        env = service_env(settings, intake_http_port=free_port(), dashboard_port=free_port())
        services = [ServiceProcess(name, env) for name in names]
        client: AsyncMongoClient = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
        db = client[settings.mongodb_db]
        try:
            await asyncio.to_thread(
                wait_for_consumers, settings.amqp_url, "regwatch.intake.documents"
            )
            partner_id = await make_partner(db, amqp_user="guest")
            async with Stream(settings.amqp_url, db, partner_id) as stream:
                for _ in range(BURST):
                    await stream.send()
                elapsed = await wait_for_pipeline(db, settings, vhost, BURST, 300)
                capacity = BURST / elapsed
                rate = 0.8 * capacity
                start_rss = {s.name: rss_mib(s.process.pid) for s in services}
                samples = []
                started = time.perf_counter()
                next_sample = started
                while (now := time.perf_counter()) - started < SOAK_SECONDS:
                    due = int((now - started) * rate) + BURST
                    while stream.sent < due:
                        await stream.send()
                    if now >= next_sample:
                        samples.append((now - started, await depths_now(settings, vhost)))
                        next_sample += 10
                    await asyncio.sleep(0.02)
                samples.append((SOAK_SECONDS, await depths_now(settings, vhost)))
                drain = await wait_for_stored(db, stream.sent, DRAIN_SECONDS)
                samples.append((SOAK_SECONDS + drain, await depths_now(settings, vhost)))
                end_rss = {s.name: rss_mib(s.process.pid) for s in services}
                total = await db["documents"].count_documents({})  # exact, once
        finally:
            for service in services:
                service.stop()
            await client.drop_database(settings.mongodb_db)
            await client.close()
    print(f"pipeline capacity (burst of {BURST}, every service through it): {capacity:6.1f} docs/s")
    print(
        f"soak rate (80%):                                       {rate:6.1f} docs/s for {SOAK_SECONDS} s"
    )
    print(f"documents sent / stored:                               {stream.sent} / {total}")
    print(
        f"intake drain after the soak:                           {drain:6.1f} s"
        f"{' (stopped waiting)' if drain >= DRAIN_SECONDS else ''}"
    )
    rising = growing(samples)
    print(
        "queue depths bounded during the soak: "
        + (
            "yes"
            if not rising
            else "NO, still growing: "
            + ", ".join(f"{q.removeprefix('regwatch.')} {a} -> {b}" for q, (a, b) in rising.items())
            + " (that consumer is slower than the offered rate)"
        )
    )
    print("queue depths (messages) over time:")
    for at, depths in samples:
        busiest = ", ".join(f"{k.removeprefix('regwatch.')}={v}" for k, v in sorted(depths.items()))
        after = "  (after the intake's drain)" if at > SOAK_SECONDS else ""
        print(f"  t={at:5.1f}s  {busiest}{after}")
    print("resident memory per service (MiB), start -> end, ratio:")
    for name in start_rss:
        print(
            f"  {name:10s} {start_rss[name]:7.1f} -> {end_rss[name]:7.1f}   {end_rss[name] / start_rss[name]:5.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
