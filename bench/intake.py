"""Intake throughput, round trips, CPU and latency, as ratios to baselines of the same run.

One process, one RabbitMQ vhost, one MongoDB wire server (SecantusDB unless MONGODB_URL):
1. baselines (``bench/_floor.py``): the raw broker (aio-pika confirmed publish, manual-ack
   consume) and the I/O floor of one document (consume + GridFS put + insert + confirmed
   publish + ack, plain drivers), twice: the put through PyMongo's GridFS bucket (the
   issue's definition; its per-upload index check is a find_one({}) that SecantusDB
   answers more slowly the more chunks the bucket holds, about 3 ms at 10 and 36 ms at
   400, so this floor falls as the bucket fills) and as two bare inserts (the stricter
   floor, the same writes the intake makes);
2. the intake service (``python -m services.intake``, its own process, MongoDB command
   counting on) over AMQP: its capacity as a ratio to the floor, MongoDB round trips and
   CPU per accepted document (from its own counters), latency idle and at capacity;
3. the same number of documents over HTTP (multipart uploads, CONCURRENCY requests in
   flight), also with the validator off: the two channels compared in the same conditions;
4. with the validator running too: the pipeline's capacity (a burst timed until the validator
   has applied every document), then latency from publish (or request start) to
   ``document.received`` at half capacity (half the lower of the channel's and the pipeline's
   capacity), CPU and MongoDB round trips per document of intake and validator.
Last, every figure the performance goals name, next to its goal with met / NOT met
(``GOALS``). Bounded: every phase stops after PHASE_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import aio_pika
import httpx
from pymongo import AsyncMongoClient
from pypdf import PdfWriter

from bench._env import bench_settings, percentile
from bench._floor import Floor, io_floor, raw_broker
from bench._http import lean_client, multipart
from bench._services import Service, database_server_pid, process_cpu_seconds, service
from shared.app.partners import issue_api_key
from shared.domain.models import Application, Exporter, Partner, new_id
from shared.infra import db as mongo
from shared.infra.settings import Settings
from shared.infra.topology import EVENTS_EXCHANGE, INTAKE_EXCHANGE, SUBMIT_ROUTING_KEY

DOCUMENTS = int(os.environ.get("BENCH_INTAKE_DOCUMENTS", "200"))
DOCUMENT_BYTES = 100 * 1024
CONCURRENCY = 32
PHASE_SECONDS = 40.0
RESTING = 20  # documents sent one at a time to an idle service, for its latency
PER_APPLICATION = 5
HALF_CAPACITY_SECONDS = 15.0
HALF_CAPACITY_APPLICATIONS = 120  # at most 600 documents per half-capacity phase
Pace = Literal["burst", "rest"] | float


def document(index: int) -> bytes:
    """A readable PDF of about 100 KiB, different for every index (a random attachment)."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": f"bench {index}"})
    writer.add_attachment("filler.bin", os.urandom(DOCUMENT_BYTES - 1024))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


class ReceivedTap:
    """Records when each ``document.received`` arrives, by the document's file name."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.ids: list[str] = []  # the document.received event ids, as they arrived
        self.arrived = asyncio.Event()
        self.expected = 0

    @asynccontextmanager
    async def open(self, amqp_url: str) -> AsyncIterator[ReceivedTap]:
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.get_exchange(EVENTS_EXCHANGE.name)
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(exchange, "document.received")

            async def on_event(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                await message.ack()
                event = json.loads(message.body)
                filename = event["data"]["filename"]
                if filename not in self.at:
                    self.at[filename] = time.perf_counter()
                    self.ids.append(event["id"])
                if len(self.at) >= self.expected:
                    self.arrived.set()

            await queue.consume(on_event)
            yield self

    async def wait(self, expected: int, timeout: float = PHASE_SECONDS) -> None:
        """Until ``expected`` documents arrived or ``timeout`` passed (the run stays bounded)."""
        self.expected = expected
        if len(self.at) < expected:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), timeout)


async def publish_document(
    exchange: aio_pika.abc.AbstractExchange, body: bytes, *, application_id: str, filename: str
) -> None:
    """What a partner publishes (see docs/partner-contract.md)."""
    await exchange.publish(
        aio_pika.Message(
            body,
            message_id=str(uuid.uuid4()),
            content_type="application/pdf",
            user_id="guest",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers={
                "x-application-id": application_id,
                "x-document-type": "business_licence",
                "x-filename": filename,
            },
        ),
        routing_key=SUBMIT_ROUTING_KEY,
    )


async def through_amqp(
    settings: Settings,
    applications: list[str],
    bodies: list[bytes],
    *,
    prefix: str,
    pace: Pace,
    received_ids: list[str] | None = None,
) -> tuple[float, list[float]]:
    """Documents/s and latencies (s) from publish to ``document.received``.

    ``pace``: "burst" publishes CONCURRENCY at a time as fast as confirms come (capacity);
    "rest" publishes each document after the previous one arrived (an idle service's
    latency); a number publishes that many documents per second, evenly spaced.
    """
    sent: dict[str, float] = {}
    async with ReceivedTap().open(settings.amqp_url) as tap:
        connection = await aio_pika.connect(settings.amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(INTAKE_EXCHANGE.name)

            async def publish(index: int) -> None:
                filename = f"{prefix}-{index}.pdf"
                sent[filename] = time.perf_counter()
                await publish_document(
                    exchange,
                    bodies[index],
                    application_id=applications[index // PER_APPLICATION % len(applications)],
                    filename=filename,
                )

            started = time.perf_counter()
            if isinstance(pace, float):
                pending = []
                for index in range(len(bodies)):
                    await asyncio.sleep(max(0.0, started + index / pace - time.perf_counter()))
                    pending.append(asyncio.create_task(publish(index)))
                await asyncio.gather(*pending)
            else:
                step = 1 if pace == "rest" else CONCURRENCY
                for offset in range(0, len(bodies), step):
                    await asyncio.gather(
                        *(publish(i) for i in range(offset, min(len(bodies), offset + step)))
                    )
                    if pace == "rest":
                        await tap.wait(offset + 1)
            await tap.wait(len(bodies))
        if received_ids is not None:
            received_ids.extend(tap.ids)
        return measured(tap, sent, started)


async def validated_all(settings: Settings, event_ids: list[str]) -> None:
    """Until the validator has applied every one of ``event_ids`` (its inbox marks them)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url)
    try:
        inbox = client[settings.mongodb_db]["inbox"]
        query = {"consumer": "validator", "event_id": {"$in": event_ids}}
        deadline = time.perf_counter() + 4 * PHASE_SECONDS
        while await inbox.count_documents(query) < len(event_ids):
            if time.perf_counter() > deadline:
                raise TimeoutError("the validator did not apply every document in time")
            await asyncio.sleep(0.05)
    finally:
        await client.close()


async def through_http(
    settings: Settings,
    base_url: str,
    api_key: str,
    applications: list[str],
    bodies: list[bytes],
    *,
    prefix: str,
    pace: Literal["burst"] | float,
) -> tuple[float, list[float]]:
    """Uploads/s and latencies (s) from request start to ``document.received``.

    ``pace``: "burst" keeps CONCURRENCY requests in flight (capacity); a number starts that
    many uploads per second, evenly spaced. The requests are sent by a lean client
    (``bench/_http.py``) so that the load generator leaves the CPU to the service.
    """
    sent: dict[str, float] = {}
    gate = asyncio.Semaphore(CONCURRENCY)
    headers = {"Authorization": f"Bearer {api_key}"}
    async with (
        ReceivedTap().open(settings.amqp_url) as tap,
        lean_client(base_url, headers, CONCURRENCY) as client,
    ):
        requests = []  # encoded before the clock starts, as the AMQP messages are
        for index, body in enumerate(bodies):
            filename = f"{prefix}-{index}.pdf"
            form, content_type = multipart(
                {"document_type": "business_licence"},
                name="file",
                filename=filename,
                content_type="application/pdf",
                body=body,
            )
            path = f"/v1/applications/{applications[index // PER_APPLICATION]}/documents"
            requests.append((filename, client.request(path, form, content_type)))

        async def upload(index: int) -> None:
            filename, request = requests[index]
            async with gate:
                sent[filename] = time.perf_counter()
                status, answer = await client.send(request)
                if status != 201:
                    raise RuntimeError(f"upload {filename}: {status} {answer[:500]!r}")

        started = time.perf_counter()
        if pace == "burst":
            await asyncio.gather(*(upload(i) for i in range(len(bodies))))
        else:
            pending = []
            for index in range(len(bodies)):
                await asyncio.sleep(max(0.0, started + index / pace - time.perf_counter()))
                pending.append(asyncio.create_task(upload(index)))
            await asyncio.gather(*pending)
        await tap.wait(len(bodies))
        return measured(tap, sent, started)


async def warm_http(base_url: str, api_key: str) -> None:
    """One request first, as the resting documents warm the AMQP side: FastAPI builds its
    routes' request handling on the first request it routes (about 0.1 s here)."""
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
        (await client.get("/v1/applications", params={"page_size": 1})).raise_for_status()


def measured(tap: ReceivedTap, sent: dict[str, float], started: float) -> tuple[float, list[float]]:
    """Documents/s over the phase and each arrived document's latency (s)."""
    arrived = [name for name in sent if name in tap.at]
    if len(arrived) < len(sent):
        print(f"note: {len(sent) - len(arrived)} documents had not arrived within the phase")
    elapsed = max(tap.at[name] for name in arrived) - started
    return len(arrived) / elapsed, [tap.at[name] - sent[name] for name in arrived]


async def seed(settings: Settings, applications: int) -> tuple[str, list[str]]:
    """A partner (RabbitMQ user guest, and an API key) with ``applications`` dairy applications.

    Documents are spread PER_APPLICATION to an application, as partners send them: the
    validator re-evaluates a whole application per document, so one application of hundreds
    of documents would measure that growth instead (bench/validator.py measures it).
    """
    client: AsyncMongoClient = mongo.connect(settings)
    db = mongo.database(client, settings)
    await mongo.ensure_indexes(db)
    now = datetime.now(UTC)
    partner = Partner(_id=new_id("ptn"), name="bench", amqp_user="guest", created_at=now)
    await db["partners"].insert_one(partner.to_mongo())
    api_key = await issue_api_key(db, partner_id=partner.id, now=now)
    records = [
        Application(
            _id=new_id("app"),
            partner_id=partner.id,
            exporter=Exporter(name="Bench Dairy", country="NZ"),
            category="food.dairy",
            product="milk_powder",
            kind="new",
            created_at=now,
            updated_at=now,
        ).model_dump(by_alias=True)
        for _ in range(applications)
    ]
    await db["applications"].insert_many(records)
    await client.close()
    return api_key, [record["_id"] for record in records]


@dataclass
class Usage:
    """What one service process used over a phase, per document of that phase."""

    cpu_ms: float
    commands: dict[str, float]

    @property
    def round_trips(self) -> float:
        return sum(self.commands.values())


class Meter:
    """CPU time and MongoDB commands of a service between ``start`` and ``stop``."""

    def __init__(self, running: Service) -> None:
        self.running = running

    async def start(self) -> None:
        await self.running.wait_idle()
        self.cpu, self.commands = self.running.cpu_seconds(), await self.running.commands()

    async def stop(self, documents: int) -> Usage:
        """Usage per document, once the service has finished what the phase gave it."""
        await self.running.wait_idle()
        cpu = self.running.cpu_seconds() - self.cpu
        commands = await self.running.commands()
        commands.subtract(self.commands)
        per_document = {name: n / documents for name, n in commands.items() if n}
        return Usage(cpu / documents * 1000, per_document)


def breakdown(commands: dict[str, float]) -> str:
    return ", ".join(f"{name} {n:.2f}" for name, n in sorted(commands.items(), key=lambda c: -c[1]))


def latency(label: str, latencies: list[float]) -> None:
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    print(f"  {label:<58} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")


def rate_line(label: str, rate: float, unit: str, extra: str = "") -> None:
    print(f"  {label:<58} {rate:8.1f} {unit}{extra}")


@dataclass
class Phase:
    """One channel pushed through the intake: rate, latencies and what the processes used."""

    rate: float
    latency: list[float]
    intake: Usage
    client_cpu_ms: float  # this process (the load generator) per document


@dataclass
class HalfPhase(Phase):
    """A phase at half of the channel's capacity, with the validator running."""

    offered: float
    validator: Usage


@dataclass
class Figures:
    published: float
    consumed: float
    floor: Floor
    tight: Floor
    rest: list[float]
    amqp: Phase
    http: Phase
    pipeline: float  # documents/s stored and validated, intake and validator both running
    amqp_half: HalfPhase
    http_half: HalfPhase
    server_cpu_ms: dict[str, float]


class ClientCpu:
    """CPU ms per document this process (publisher, uploader, event tap) used in a block."""

    def __init__(self, documents: int) -> None:
        self.documents = documents
        self.ms = float("nan")

    def __enter__(self) -> ClientCpu:
        self.started = time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.ms = (time.process_time() - self.started) / self.documents * 1000


class ServerCpu:
    """CPU time of the database server process, when it runs on this machine."""

    def __init__(self, mongodb_url: str) -> None:
        self.pid = database_server_pid(mongodb_url)
        self.per_document: dict[str, float] = {}

    def seconds(self) -> float:
        return process_cpu_seconds(self.pid) if self.pid else float("nan")

    @contextlib.contextmanager
    def phase(self, name: str, documents: int) -> Iterator[None]:
        """Record the server's CPU ms per document over the ``with`` block as ``name``."""
        started = self.seconds()
        yield
        self.per_document[name] = (self.seconds() - started) / documents * 1000


def half_count(rate: float) -> int:
    """Documents for a half-capacity phase: HALF_CAPACITY_SECONDS of them, 20 to 600."""
    return max(20, min(HALF_CAPACITY_APPLICATIONS * PER_APPLICATION, int(rate / 2 * 15)))


async def measure(settings: Settings) -> Figures:
    server = ServerCpu(settings.mongodb_url)
    published, consumed = await raw_broker(settings.amqp_url, DOCUMENTS)
    with server.phase("floor", DOCUMENTS):
        floor = await io_floor(
            settings.amqp_url, settings.mongodb_url, settings.mongodb_db, DOCUMENTS, gridfs="driver"
        )
    with server.phase("tight", DOCUMENTS):
        tight = await io_floor(
            settings.amqp_url, settings.mongodb_url, settings.mongodb_db, DOCUMENTS, gridfs="direct"
        )
    burst_apps = DOCUMENTS // PER_APPLICATION
    api_key, applications = await seed(
        settings, 4 + 3 * burst_apps + 2 * HALF_CAPACITY_APPLICATIONS
    )
    rest_apps, applications = applications[:4], applications[4:]
    amqp_apps, http_apps = applications[:burst_apps], applications[burst_apps : 2 * burst_apps]
    both_apps = applications[2 * burst_apps : 3 * burst_apps]
    half_apps = applications[3 * burst_apps :]
    amqp_half_apps, http_half_apps = half_apps[::2], half_apps[1::2]
    async with service("intake", settings) as intake:
        base_url = intake.metrics_url.removesuffix("/metrics")
        resting = [document(-i) for i in range(1, RESTING + 1)]
        _, rest = await through_amqp(settings, rest_apps, resting, prefix="rest", pace="rest")
        # Capacity of each channel, validator off for both: the same conditions.
        bodies = [document(i) for i in range(DOCUMENTS)]
        meter = Meter(intake)
        await meter.start()
        with server.phase("intake", DOCUMENTS):
            with ClientCpu(len(bodies)) as client:
                rate, latencies = await through_amqp(
                    settings, amqp_apps, bodies, prefix="amqp", pace="burst"
                )
            amqp = Phase(rate, latencies, await meter.stop(len(bodies)), client.ms)
        bodies = [document(DOCUMENTS + i) for i in range(DOCUMENTS)]
        await warm_http(base_url, api_key)
        await meter.start()
        with server.phase("http", DOCUMENTS):
            with ClientCpu(len(bodies)) as client:
                rate, latencies = await through_http(
                    settings, base_url, api_key, http_apps, bodies, prefix="http", pace="burst"
                )
            http = Phase(rate, latencies, await meter.stop(len(bodies)), client.ms)
        async with service("validator", settings) as validator:
            # Capacity of the pipeline the half-capacity phases run: intake and validator
            # on the same cores, a burst timed until the validator has applied every document.
            bodies = [document(4 * DOCUMENTS + i) for i in range(DOCUMENTS)]
            ids: list[str] = []
            started = time.perf_counter()
            await through_amqp(
                settings, both_apps, bodies, prefix="both", pace="burst", received_ids=ids
            )
            await validated_all(settings, ids)
            pipeline = len(bodies) / (time.perf_counter() - started)
            meters = Meter(intake), Meter(validator)
            halves: list[HalfPhase] = []
            for channel, capacity, apps in (
                ("amqp", amqp.rate, amqp_half_apps),
                ("http", http.rate, http_half_apps),
            ):
                # Half of what the machine does with both running, or of the channel alone.
                offered = min(capacity, pipeline) / 2
                count = min(len(apps) * PER_APPLICATION, half_count(capacity))
                first = (2 + len(halves)) * DOCUMENTS
                half_bodies = [document(first + i) for i in range(count)]
                for m in meters:
                    await m.start()  # the validator first works off what it received so far
                with ClientCpu(len(half_bodies)) as client:
                    if channel == "amqp":
                        rate, latencies = await through_amqp(
                            settings, apps, half_bodies, prefix="half", pace=offered
                        )
                    else:
                        rate, latencies = await through_http(
                            settings, base_url, api_key, apps, half_bodies, prefix="httphalf",
                            pace=offered,
                        )  # fmt: skip
                used = [await m.stop(len(half_bodies)) for m in meters]
                halves.append(HalfPhase(rate, latencies, used[0], client.ms, offered, used[1]))
    return Figures(
        published, consumed, floor, tight, rest, amqp, http, pipeline, halves[0], halves[1],
        server.per_document,
    )  # fmt: skip


@dataclass(frozen=True)
class Goal:
    """One figure of the performance goals: its value, its bound and which way it holds."""

    label: str
    value: float
    bound: float
    at_most: bool  # True: the value must stay at or under the bound (<=, or < if strict)
    unit: str = ""
    strict: bool = False

    @property
    def met(self) -> bool:
        if self.value != self.value:  # NaN: nothing was measured
            return False
        if self.at_most:
            return self.value < self.bound if self.strict else self.value <= self.bound
        return self.value > self.bound if self.strict else self.value >= self.bound

    def line(self) -> str:
        sign = ("<" if self.strict else "<=") if self.at_most else (">" if self.strict else ">=")
        goal = f"{sign} {self.bound:g}{self.unit}"
        return (
            f"  {self.label:<62} {self.value:8.2f}{self.unit:<3} goal {goal:<10} "
            f"{'met' if self.met else 'NOT met'}"
        )


def goals(f: Figures) -> list[Goal]:
    """The performance goals, each figure measured in this run."""
    p50, p99 = 0.5, 0.99
    return [
        Goal(
            "AMQP intake / I/O floor 'GridFS as 2 inserts' (same run)",
            f.amqp.rate / f.tight.rate,
            0.70,
            at_most=False,
        ),
        Goal(
            "MongoDB round trips per accepted document (intake)", f.amqp.intake.round_trips, 4, True
        ),
        Goal("intake CPU per document at capacity", f.amqp.intake.cpu_ms, 2, True, " ms"),
        Goal(
            "publish -> document.received, p99 at half capacity",
            percentile(f.amqp_half.latency, p99) * 1000,
            100,
            True,
            " ms",
            strict=True,
        ),
        Goal(
            "validator MongoDB round trips per document",
            f.amqp_half.validator.round_trips,
            3,
            True,
        ),
        Goal(
            "validator CPU per document at half capacity",
            f.amqp_half.validator.cpu_ms,
            2,
            True,
            " ms",
        ),
        Goal(
            "HTTP uploads / AMQP intake throughput (both validator off)",
            f.http.rate / f.amqp.rate,
            0.8,
            at_most=False,
        ),
        Goal(
            "HTTP request start -> document.received, p50 at half capacity",
            percentile(f.http_half.latency, p50) * 1000,
            50,
            True,
            " ms",
            strict=True,
        ),
    ]


def report(f: Figures) -> None:
    print(f"{DOCUMENTS} documents of ~{DOCUMENT_BYTES // 1024} KiB, {CONCURRENCY} in flight; ")
    print("baselines on the same RabbitMQ and MongoDB wire server, in this run:")
    rate_line("raw broker: publish, confirmed, persistent", f.published, "msg/s")
    rate_line("raw broker: consume, manual ack", f.consumed, "msg/s")
    floors = (("driver's GridFS put", f.floor, "floor"), ("GridFS as 2 inserts", f.tight, "tight"))
    for label, measured_floor, key in floors:
        rate_line(f"I/O floor, {label}", measured_floor.rate, "docs/s")
        print(
            f"  {'    MongoDB round trips per document':<58} "
            f"{sum(measured_floor.commands_per_document.values()):8.2f}  "
            f"({breakdown(measured_floor.commands_per_document)})"
        )
        rate_line("    database server CPU per document", f.server_cpu_ms[key], "ms")
        rate_line("    floor process CPU per document (plain drivers)", measured_floor.cpu_ms, "ms")
    print("intake (python -m services.intake, its own process), validator off:")
    for channel, phase, key in (("AMQP", f.amqp, "intake"), ("HTTP", f.http, "http")):
        rate_line(f"over {channel}, capacity (burst)", phase.rate, "docs/s")
        for label, measured_floor, _ in floors:
            print(
                f"  {'    as a ratio to the I/O floor, ' + label:<58} "
                f"{phase.rate / measured_floor.rate:8.2f}"
            )
        print(
            f"  {'    MongoDB round trips per accepted document':<58} "
            f"{phase.intake.round_trips:8.2f}  ({breakdown(phase.intake.commands)})"
        )
        rate_line("    intake CPU per document at capacity", phase.intake.cpu_ms, "ms")
        rate_line("    database server CPU per document at capacity", f.server_cpu_ms[key], "ms")
        rate_line("    load generator (this process) CPU per document", phase.client_cpu_ms, "ms")
        latency("    latency at capacity (queue of the whole burst)", phase.latency)
    rate_line("HTTP / AMQP throughput, both validator off", f.http.rate / f.amqp.rate, "")
    latency("latency idle over AMQP, one document at a time", f.rest)
    rate_line("intake + validator, stored and validated (AMQP burst)", f.pipeline, "docs/s")
    print(
        "at half capacity (half of the lower of the channel's and the pipeline's),"
        " intake and validator both running:"
    )
    for channel, half in (("AMQP", f.amqp_half), ("HTTP", f.http_half)):
        latency(
            f"{channel}: {half.offered:.1f} docs/s offered, {half.rate:.1f} achieved, latency",
            half.latency,
        )
        rate_line(f"    CPU per document: intake ({channel})", half.intake.cpu_ms, "ms")
        rate_line("    CPU per document: validator", half.validator.cpu_ms, "ms")
        print(
            f"  {'    intake MongoDB round trips per document':<58} "
            f"{half.intake.round_trips:8.2f}  ({breakdown(half.intake.commands)})"
        )
        print(
            f"  {'    validator MongoDB round trips per document':<58} "
            f"{half.validator.round_trips:8.2f}  ({breakdown(half.validator.commands)})"
        )
    print("performance goals (ratios against baselines of this run):")
    for goal in goals(f):
        print(goal.line())


async def main() -> None:
    with bench_settings() as (settings, _):
        figures = await measure(settings)
    report(figures)


if __name__ == "__main__":
    asyncio.run(main())
