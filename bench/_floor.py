"""The baselines intake is measured against, on the servers of the same run.

1. The raw broker: aio-pika publish with publisher confirms, and consume with manual ack.
2. The floor of necessary I/O for one document, with the plain drivers and no framework:
   consume a 100 KiB message, one GridFS put, one insert, one confirmed publish, ack;
   measured twice: the GridFS put through PyMongo's bucket, and as its two bare inserts.
   Its MongoDB round trips are counted with a PyMongo command listener, like the service's.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import aio_pika
from bson import ObjectId
from gridfs import AsyncGridFSBucket
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

DOCUMENT_BYTES = 100 * 1024
CONCURRENCY = 32
GridFsPut = Literal["driver", "direct"]


class Commands(CommandListener):
    """Counts the commands a client sends, by name."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def started(self, event: CommandStartedEvent) -> None:
        self.counts[event.command_name] += 1

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass


@dataclass
class Floor:
    """Documents/s through the floor of necessary I/O, its commands per document, and the
    CPU ms per document of the process doing it (the plain drivers' own cost)."""

    rate: float
    commands_per_document: dict[str, float]
    cpu_ms: float = float("nan")


async def publish_all(
    channel: aio_pika.abc.AbstractChannel, queue_name: str, bodies: list[bytes]
) -> None:
    """Persistent messages with confirms, CONCURRENCY in flight at a time."""
    for offset in range(0, len(bodies), CONCURRENCY):
        await asyncio.gather(
            *(
                channel.default_exchange.publish(
                    aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=queue_name,
                )
                for body in bodies[offset : offset + CONCURRENCY]
            )
        )


async def raw_broker(amqp_url: str, messages: int) -> tuple[float, float]:
    """Messages/s published (confirmed, persistent) and consumed (manual ack), 100 KiB each."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(
            "bench.raw", durable=True, arguments={"x-queue-type": "quorum"}
        )
        bodies = [os.urandom(DOCUMENT_BYTES) for _ in range(messages)]
        started = time.perf_counter()
        await publish_all(channel, queue.name, bodies)
        published = messages / (time.perf_counter() - started)

        consumer_channel = await connection.channel()
        await consumer_channel.set_qos(prefetch_count=CONCURRENCY)
        consumer_queue = await consumer_channel.get_queue(queue.name)
        done, seen = asyncio.Event(), 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal seen
            await message.ack()
            seen += 1
            if seen >= messages:
                done.set()

        started = time.perf_counter()
        tag = await consumer_queue.consume(on_message)
        await asyncio.wait_for(done.wait(), timeout=120)
        consumed = messages / (time.perf_counter() - started)
        await consumer_queue.cancel(tag)
        await queue.delete(if_unused=False, if_empty=False)
    return published, consumed


async def put_direct(db: AsyncDatabase, body: bytes) -> ObjectId:
    """A one-chunk GridFS file as its two inserts (chunk, then files document), no checks."""
    blob_id = ObjectId()
    await db["bench_blobs.chunks"].insert_one({"files_id": blob_id, "n": 0, "data": body})
    await db["bench_blobs.files"].insert_one(
        {
            "_id": blob_id,
            "length": len(body),
            "chunkSize": 255 * 1024,
            "uploadDate": datetime.now(UTC),
            "filename": "doc.pdf",
        }
    )
    return blob_id


async def io_floor(
    amqp_url: str, mongodb_url: str, db_name: str, documents: int, *, gridfs: GridFsPut
) -> Floor:
    """Documents/s through consume + GridFS put + insert + confirmed publish + ack.

    ``gridfs``: "driver" puts through PyMongo's bucket (which checks the bucket's indexes
    with two queries before every upload); "direct" writes the same chunk and files
    documents with two inserts, the indexes made beforehand, as the intake does.
    """
    commands = Commands()
    client: AsyncMongoClient = AsyncMongoClient(
        mongodb_url, tz_aware=True, event_listeners=[commands]
    )
    db = client[f"{db_name}_floor_{gridfs}"]
    bucket = AsyncGridFSBucket(db, bucket_name="bench_blobs")
    if gridfs == "direct":
        await db["bench_blobs.chunks"].create_index([("files_id", 1), ("n", 1)], unique=True)
        await db["bench_blobs.files"].create_index([("filename", 1), ("uploadDate", 1)])
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        source = await channel.declare_queue(
            "bench.floor.in", durable=True, arguments={"x-queue-type": "quorum"}
        )
        sink = await channel.declare_queue(
            "bench.floor.out", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await publish_all(
            channel, source.name, [os.urandom(DOCUMENT_BYTES) for _ in range(documents)]
        )
        work_channel = await connection.channel(publisher_confirms=True)
        await work_channel.set_qos(prefetch_count=CONCURRENCY)
        work_queue = await work_channel.get_queue(source.name)
        done, seen = asyncio.Event(), 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal seen
            if gridfs == "driver":
                blob_id = await bucket.upload_from_stream("doc.pdf", message.body)
            else:
                blob_id = await put_direct(db, message.body)
            await db["bench_documents"].insert_one({"blob_id": blob_id, "size": len(message.body)})
            await work_channel.default_exchange.publish(
                aio_pika.Message(
                    b'{"type":"document.received"}', delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                ),
                routing_key=sink.name,
            )
            await message.ack()
            seen += 1
            if seen >= documents:
                done.set()

        commands.counts.clear()
        started, cpu = time.perf_counter(), time.process_time()
        tag = await work_queue.consume(on_message)
        await asyncio.wait_for(done.wait(), timeout=120)
        rate = documents / (time.perf_counter() - started)
        cpu_ms = (time.process_time() - cpu) / documents * 1000
        per_document = {name: n / documents for name, n in commands.counts.items()}
        await work_queue.cancel(tag)
        await source.delete(if_unused=False, if_empty=False)
        await sink.delete(if_unused=False, if_empty=False)
    await client.drop_database(db.name)
    await client.close()
    return Floor(rate, per_document, cpu_ms)
