"""Baselines every other benchmark is measured against, on the same servers in one run.

1. The raw broker: aio-pika publish with publisher confirms, and consume with manual ack.
2. The floor of necessary I/O for one document, with the plain drivers and no framework:
   consume a 100 KiB message, one GridFS put, one insert, one confirmed publish, ack.
"""

from __future__ import annotations

import asyncio
import os
import time

import aio_pika
from gridfs import AsyncGridFSBucket
from pymongo import AsyncMongoClient

from bench._env import bench_settings

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "2000"))
DOCUMENTS = int(os.environ.get("BENCH_DOCUMENTS", "400"))
DOCUMENT_BYTES = 100 * 1024
CONCURRENCY = 32


async def raw_broker(amqp_url: str) -> tuple[float, float]:
    """Messages/s published (confirmed, persistent) and consumed (manual ack)."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(
            "bench.raw", durable=True, arguments={"x-queue-type": "quorum"}
        )
        body = b"x" * 512
        started = time.perf_counter()
        for offset in range(0, MESSAGES, CONCURRENCY):
            batch = range(offset, min(MESSAGES, offset + CONCURRENCY))
            await asyncio.gather(
                *(
                    channel.default_exchange.publish(
                        aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                        routing_key=queue.name,
                    )
                    for _ in batch
                )
            )
        published = MESSAGES / (time.perf_counter() - started)

        consumer_channel = await connection.channel()
        await consumer_channel.set_qos(prefetch_count=CONCURRENCY)
        consumer_queue = await consumer_channel.get_queue(queue.name)
        done = asyncio.Event()
        seen = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal seen
            await message.ack()
            seen += 1
            if seen >= MESSAGES:
                done.set()

        started = time.perf_counter()
        tag = await consumer_queue.consume(on_message)
        await asyncio.wait_for(done.wait(), timeout=300)
        consumed = MESSAGES / (time.perf_counter() - started)
        await consumer_queue.cancel(tag)
        await queue.delete(if_unused=False, if_empty=False)
    return published, consumed


async def io_floor(amqp_url: str, mongodb_url: str, db_name: str) -> float:
    """Documents/s through consume + GridFS put + insert + confirmed publish + ack."""
    client: AsyncMongoClient = AsyncMongoClient(mongodb_url, tz_aware=True)
    db = client[db_name]
    bucket = AsyncGridFSBucket(db, bucket_name="bench_blobs")
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        source = await channel.declare_queue(
            "bench.floor.in", durable=True, arguments={"x-queue-type": "quorum"}
        )
        sink = await channel.declare_queue(
            "bench.floor.out", durable=True, arguments={"x-queue-type": "quorum"}
        )
        for offset in range(0, DOCUMENTS, CONCURRENCY):
            await asyncio.gather(
                *(
                    channel.default_exchange.publish(
                        aio_pika.Message(
                            os.urandom(DOCUMENT_BYTES),
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        ),
                        routing_key=source.name,
                    )
                    for _ in range(offset, min(DOCUMENTS, offset + CONCURRENCY))
                )
            )
        work_channel = await connection.channel(publisher_confirms=True)
        await work_channel.set_qos(prefetch_count=CONCURRENCY)
        work_queue = await work_channel.get_queue(source.name)
        done = asyncio.Event()
        seen = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal seen
            blob_id = await bucket.upload_from_stream("doc.pdf", message.body)
            await db["bench_documents"].insert_one({"blob_id": blob_id, "size": len(message.body)})
            await work_channel.default_exchange.publish(
                aio_pika.Message(
                    b'{"type":"document.received"}', delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                ),
                routing_key=sink.name,
            )
            await message.ack()
            seen += 1
            if seen >= DOCUMENTS:
                done.set()

        started = time.perf_counter()
        tag = await work_queue.consume(on_message)
        await asyncio.wait_for(done.wait(), timeout=300)
        rate = DOCUMENTS / (time.perf_counter() - started)
        await work_queue.cancel(tag)
        await source.delete(if_unused=False, if_empty=False)
        await sink.delete(if_unused=False, if_empty=False)
    await client.drop_database(db_name)
    await client.close()
    return rate


async def main() -> None:
    with bench_settings() as (settings, _):
        published, consumed = await raw_broker(settings.amqp_url)
        floor = await io_floor(settings.amqp_url, settings.mongodb_url, settings.mongodb_db)
    print(
        f"raw broker publish (confirmed, persistent, {CONCURRENCY} in flight): {published:8.0f} msg/s"
    )
    print(
        f"raw broker consume (manual ack, prefetch {CONCURRENCY}):             {consumed:8.0f} msg/s"
    )
    print(f"I/O floor per 100 KiB document (consume+GridFS+insert+publish): {floor:8.1f} docs/s")
    print(
        f"I/O floor / raw broker consume:                                 {floor / consumed:8.3f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
