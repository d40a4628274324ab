"""Verdict latency: from publishing an application's last document to its final verdict.

The services run as processes (intake, validator, and the reader when reading is on). An
application's documents are published one after the other over AMQP, as a partner sends
them; its final verdict is the ``application.validated`` whose stored result covers every
document and lists none as still being read (``reading`` empty), so that with reading on it
is the verdict that used every document's facts. Each application is sent once the previous
one has its final verdict: the latency of an idle system, not of a queue.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import aio_pika

from bench._env import bench_settings
from bench._services import service
from shared.domain.models import Application, Exporter, Partner, new_id
from shared.infra import db as mongo
from shared.infra.mongo_types import Database
from shared.infra.settings import Settings
from shared.infra.topology import EVENTS_EXCHANGE, INTAKE_EXCHANGE, SUBMIT_ROUTING_KEY

VERDICT_TIMEOUT = 60.0
# An application's documents, different for every application number (the intake takes the
# same bytes twice in one application as one document).
Shape = Callable[[int], list["Document"]]


@dataclass(frozen=True)
class Sample:
    """One application's figures: its verdict latency, and how long the raw reading of its
    files took right after (each document's ``raw_read``, in this process: under the same
    load as the services; 0 with reading off)."""

    latency: float
    raw_read: float


@dataclass(frozen=True)
class Document:
    """One file an application sends: what the partner publishes."""

    document_type: str
    content_type: str
    body: bytes
    metadata: dict[str, str]
    raw_read: Callable[[], object]  # the file read by the raw library (pypdf, Tesseract)


class Verdicts:
    """Records when each ``application.validated`` arrives, by application."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.arrived: dict[str, list[tuple[float, str]]] = defaultdict(list)
        self.changed = asyncio.Event()

    @asynccontextmanager
    async def open(self, amqp_url: str) -> AsyncIterator[Verdicts]:
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.get_exchange(EVENTS_EXCHANGE.name)
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(exchange, "application.validated")

            async def on_event(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                at = time.perf_counter()
                await message.ack()
                data = json.loads(message.body)["data"]
                self.arrived[data["application_id"]].append((at, data["validation_id"]))
                self.changed.set()

            await queue.consume(on_event)
            yield self

    async def final(self, application_id: str, documents: int) -> float:
        """When the verdict that covers ``documents`` documents, none being read, arrived."""
        checked = 0
        deadline = time.perf_counter() + VERDICT_TIMEOUT
        while True:
            arrived = self.arrived[application_id]
            for at, validation_id in arrived[checked:]:
                result = await self.db["validation_results"].find_one(
                    {"_id": validation_id}, {"document_ids": 1, "reading": 1}
                )
                if (
                    result is not None
                    and len(result["document_ids"]) >= documents
                    and not result.get("reading")
                ):
                    return at
            checked = len(arrived)
            self.changed.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no final verdict for {application_id} in {VERDICT_TIMEOUT} s")
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                continue


async def seed(db: Database, partner_id: str, exporter: str, count: int) -> list[str]:
    """``count`` new applications of category food.other (three documents each complete it)."""
    now = datetime.now(UTC)
    records = [
        Application(
            _id=new_id("app"),
            partner_id=partner_id,
            exporter=Exporter(name=exporter, country="SE"),
            category="food.other",
            kind="new",
            created_at=now,
            updated_at=now,
        ).model_dump(by_alias=True)
        for _ in range(count)
    ]
    await db["applications"].insert_many(records)
    return [record["_id"] for record in records]


async def send(
    exchange: aio_pika.abc.AbstractExchange, application_id: str, documents: list[Document]
) -> float:
    """Publish the documents one after the other; when the last one was published."""
    last = 0.0
    for index, document in enumerate(documents):
        last = time.perf_counter()
        await exchange.publish(
            aio_pika.Message(
                document.body,
                message_id=str(uuid.uuid4()),
                content_type=document.content_type,
                user_id="guest",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers={
                    "x-application-id": application_id,
                    "x-document-type": document.document_type,
                    "x-filename": f"{document.document_type}-{index}",
                    "x-document-meta": json.dumps(document.metadata),
                },
            ),
            routing_key=SUBMIT_ROUTING_KEY,
        )
    return last


def raw_reading(documents: list[Document]) -> float:
    """Seconds the raw reading of ``documents`` takes, one after the other."""
    started = time.perf_counter()
    for document in documents:
        document.raw_read()
    return time.perf_counter() - started


async def latencies_of(
    settings: Settings,
    db: Database,
    applications: dict[str, list[str]],
    shapes: Mapping[str, Shape],
    *,
    reading: bool,
) -> dict[str, list[Sample]]:
    """Seconds from the last document's publish to the final verdict, by application shape.

    ``applications``: the application ids of each shape, the first one a warm-up (the
    services' first document loads code, models and caches): not counted.
    """
    environment = {"READER_ENABLED": "true" if reading else "false"}
    names = ["intake", "validator"] + (["reader"] if reading else [])
    found: dict[str, list[Sample]] = {shape: [] for shape in shapes}
    async with AsyncExitStack() as stack:
        for name in names:
            await stack.enter_async_context(service(name, settings, environment))
        verdicts = await stack.enter_async_context(Verdicts(db).open(settings.amqp_url))
        connection = await stack.enter_async_context(await aio_pika.connect(settings.amqp_url))
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(INTAKE_EXCHANGE.name)
        for shape, documents_of in shapes.items():
            for number, application_id in enumerate(applications[shape]):
                documents = documents_of(number)
                sent = await send(exchange, application_id, documents)
                latency = await verdicts.final(application_id, len(documents)) - sent
                raw = await asyncio.to_thread(raw_reading, documents) if reading else 0.0
                if number:
                    found[shape].append(Sample(latency, raw))
    return found


async def verdict_latencies(
    shapes: Mapping[str, Shape], runs: Mapping[str, int], exporter: str
) -> dict[bool, dict[str, list[Sample]]]:
    """Latencies by reading off (False) and on (True), then by shape: ``runs[shape]`` each."""
    with bench_settings() as (settings, _):
        client = mongo.connect(settings)
        db = mongo.database(client, settings)
        try:
            await mongo.ensure_indexes(db)
            now = datetime.now(UTC)
            partner = Partner(_id=new_id("ptn"), name="bench", amqp_user="guest", created_at=now)
            await db["partners"].insert_one(partner.to_mongo())
            figures: dict[bool, dict[str, list[Sample]]] = {}
            # Reading on first: with reading off, nobody consumes the reader's queue, and
            # what waits there would be read before the next run's documents.
            for reading in (True, False):
                applications = {
                    shape: await seed(db, partner.id, exporter, runs[shape] + 1) for shape in shapes
                }
                figures[reading] = await latencies_of(
                    settings, db, applications, shapes, reading=reading
                )
            return figures
        finally:
            await client.close()
