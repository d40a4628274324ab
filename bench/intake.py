"""Intake throughput and latency, against a raw aio-pika baseline on the same broker.

One run, on its own RabbitMQ vhost and its own MongoDB wire server:
1. baseline: raw aio-pika, 100 KiB persistent messages published with confirms to a quorum
   queue and consumed with manual ack at the same time (messages/s end to end);
2. the intake service (its own process, ``python -m services.intake``) over AMQP: partner
   messages of 100 KiB documents -> ``document.received`` (documents/s);
3. the same over HTTP (multipart uploads to the service's uvicorn server);
each as a ratio to the baseline, with p50/p99 latency from publish (or request start) to
``document.received``. Bounded: every phase stops after PHASE_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import httpx
from pymongo import AsyncMongoClient
from pypdf import PdfWriter

from bench._env import bench_settings, percentile
from shared import db as mongo
from shared.local_infra import free_port
from shared.models import Application, Exporter, Partner, new_id
from shared.partners import issue_api_key
from shared.settings import Settings
from shared.topology import EVENTS_EXCHANGE, INTAKE_EXCHANGE, SUBMIT_ROUTING_KEY

DOCUMENTS = int(os.environ.get("BENCH_INTAKE_DOCUMENTS", "200"))
DOCUMENT_BYTES = 100 * 1024
CONCURRENCY = 32
PHASE_SECONDS = 40.0
RESTING = 20  # documents sent one at a time to an idle service, for its latency
ROOT = Path(__file__).resolve().parents[1]


def document(index: int) -> bytes:
    """A readable PDF of about 100 KiB, different for every index (a random attachment)."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": f"bench {index}"})
    writer.add_attachment("filler.bin", os.urandom(DOCUMENT_BYTES - 1024))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


async def baseline(amqp_url: str) -> float:
    """Messages/s through a quorum queue: confirmed publishes while a consumer acks."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(
            f"bench.intake.baseline.{uuid.uuid4().hex[:6]}",
            durable=True,
            arguments={"x-queue-type": "quorum"},
        )
        consumer = await connection.channel()
        await consumer.set_qos(prefetch_count=CONCURRENCY)
        done, seen = asyncio.Event(), 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal seen
            await message.ack()
            seen += 1
            if seen >= DOCUMENTS:
                done.set()

        consumer_queue = await consumer.get_queue(queue.name)
        tag = await consumer_queue.consume(on_message)
        bodies = [os.urandom(DOCUMENT_BYTES) for _ in range(CONCURRENCY)]
        started = time.perf_counter()
        for offset in range(0, DOCUMENTS, CONCURRENCY):
            await asyncio.gather(
                *(
                    channel.default_exchange.publish(
                        aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                        routing_key=queue.name,
                    )
                    for body in bodies[: min(CONCURRENCY, DOCUMENTS - offset)]
                )
            )
        await asyncio.wait_for(done.wait(), PHASE_SECONDS)
        rate = DOCUMENTS / (time.perf_counter() - started)
        await consumer_queue.cancel(tag)
        await queue.delete(if_unused=False, if_empty=False)
    return rate


class ReceivedTap:
    """Records when each ``document.received`` arrives, by the document's file name."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
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
                filename = json.loads(message.body)["data"]["filename"]
                self.at.setdefault(filename, time.perf_counter())
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
    settings: Settings, application_id: str, bodies: list[bytes], *, one_by_one: bool = False
) -> tuple[float, list[float]]:
    """Documents/s and latencies (s) from publish to ``document.received``.

    ``one_by_one``: each document is published only after the previous one was received,
    so the latency is that of an idle service, not of a queue of CONCURRENCY messages.
    """
    sent: dict[str, float] = {}
    prefix = "rest" if one_by_one else "amqp"
    async with ReceivedTap().open(settings.amqp_url) as tap:
        connection = await aio_pika.connect(settings.amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(INTAKE_EXCHANGE.name)

            async def publish(index: int) -> None:
                filename = f"{prefix}-{index}.pdf"
                sent[filename] = time.perf_counter()
                await publish_document(
                    exchange, bodies[index], application_id=application_id, filename=filename
                )

            started = time.perf_counter()
            step = 1 if one_by_one else CONCURRENCY
            for offset in range(0, len(bodies), step):
                await asyncio.gather(
                    *(publish(i) for i in range(offset, min(len(bodies), offset + step)))
                )
                if one_by_one:
                    await tap.wait(offset + 1)
            await tap.wait(len(bodies))
        return measured(tap, sent, started)


async def through_http(
    settings: Settings, base_url: str, api_key: str, application_id: str, bodies: list[bytes]
) -> tuple[float, list[float]]:
    """Uploads/s and latencies (s) from request start to ``document.received``."""
    sent: dict[str, float] = {}
    gate = asyncio.Semaphore(CONCURRENCY)
    headers = {"Authorization": f"Bearer {api_key}"}
    async with (
        ReceivedTap().open(settings.amqp_url) as tap,
        httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client,
    ):

        async def upload(index: int) -> None:
            filename = f"http-{index}.pdf"
            async with gate:
                sent[filename] = time.perf_counter()
                response = await client.post(
                    f"/v1/applications/{application_id}/documents",
                    files={"file": (filename, bodies[index], "application/pdf")},
                    data={"document_type": "business_licence"},
                )
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(upload(i) for i in range(len(bodies))))
        await tap.wait(len(bodies))
        return measured(tap, sent, started)


def measured(tap: ReceivedTap, sent: dict[str, float], started: float) -> tuple[float, list[float]]:
    """Documents/s over the phase and each arrived document's latency (s)."""
    arrived = [name for name in sent if name in tap.at]
    if len(arrived) < len(sent):
        print(f"note: {len(sent) - len(arrived)} documents had not arrived within the phase")
    elapsed = max(tap.at[name] for name in arrived) - started
    return len(arrived) / elapsed, [tap.at[name] - sent[name] for name in arrived]


async def seed(settings: Settings) -> tuple[str, str, str]:
    """A partner (RabbitMQ user guest, and an API key) with one dairy application each."""
    client: AsyncMongoClient = mongo.connect(settings)
    db = mongo.database(client, settings)
    await mongo.ensure_indexes(db)
    now = datetime.now(UTC)
    partner = Partner(_id=new_id("ptn"), name="bench", amqp_user="guest", created_at=now)
    await db["partners"].insert_one(partner.to_mongo())
    api_key = await issue_api_key(db, partner_id=partner.id, now=now)
    ids = []
    for _ in range(2):
        application = Application(
            _id=new_id("app"),
            partner_id=partner.id,
            exporter=Exporter(name="Bench Dairy", country="NZ"),
            category="food.dairy",
            product="milk_powder",
            kind="new",
            created_at=now,
            updated_at=now,
        )
        await db["applications"].insert_one(application.model_dump(by_alias=True))
        ids.append(application.id)
    await client.close()
    return api_key, ids[0], ids[1]


@asynccontextmanager
async def intake_process(settings: Settings) -> AsyncIterator[str]:
    """The intake service as its own process; yields its HTTP base URL."""
    port = free_port()
    env = {
        **os.environ,
        "AMQP_URL": settings.amqp_url,
        "MONGODB_URL": settings.mongodb_url,
        "MONGODB_DB": settings.mongodb_db,
        "INTAKE_HTTP_PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.intake", cwd=ROOT, env=env, stderr=log
        )
        try:
            if not await answers(base_url, process):
                log.seek(0)
                raise RuntimeError(f"intake did not start: {log.read().decode()[-2000:]}")
            yield base_url
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 20)


async def answers(base_url: str, process: asyncio.subprocess.Process) -> bool:
    """Wait until the service answers /healthz (False if it exits or takes 30 s)."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(150):
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            if process.returncode is not None:
                return False
            await asyncio.sleep(0.2)
    return False


def report(label: str, rate: float, base: float, latencies: list[float]) -> None:
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    print(
        f"{label:<36} {rate:8.1f} docs/s  ratio {rate / base:6.3f}  "
        f"p50 {p50:7.1f} ms  p99 {p99:7.1f} ms"
    )


async def main() -> None:
    bodies = [document(i) for i in range(DOCUMENTS)]
    with bench_settings() as (settings, _):
        base = await baseline(settings.amqp_url)
        api_key, amqp_application, http_application = await seed(settings)
        async with intake_process(settings) as base_url:
            at_rest = [document(-i) for i in range(1, RESTING + 1)]
            _, rest_latency = await through_amqp(
                settings, amqp_application, at_rest, one_by_one=True
            )
            amqp_rate, amqp_latency = await through_amqp(settings, amqp_application, bodies)
            http_bodies = [document(DOCUMENTS + i) for i in range(DOCUMENTS)]
            http_rate, http_latency = await through_http(
                settings, base_url, api_key, http_application, http_bodies
            )
    print(f"{DOCUMENTS} documents of {DOCUMENT_BYTES // 1024} KiB, {CONCURRENCY} in flight")
    print(f"{'baseline: raw aio-pika publish+consume':<36} {base:8.1f} msg/s")
    p50, p99 = percentile(rest_latency, 0.5) * 1000, percentile(rest_latency, 0.99) * 1000
    print(
        f"{'idle intake, one document at a time':<36} latency p50 {p50:7.1f} ms  p99 {p99:7.1f} ms"
    )
    report("intake over AMQP", amqp_rate, base, amqp_latency)
    report("intake over HTTP", http_rate, base, http_latency)


if __name__ == "__main__":
    asyncio.run(main())
