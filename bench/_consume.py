"""CPU of the event consumers' consume path alone, per message.

    python -m bench._consume            # 2000 events, 3 rounds

``subscribe_events`` on a queue of its own with a handler that does nothing: what every
event consumer (validator, reader, notifier, webhooks) spends per message before its own
work, from the delivery to the ack (FastStream's subscriber, its middlewares, the
CloudEvent parse and the dispatch). The events are queued first, then consumed in one go;
the figure is this process's CPU time while consuming, per message.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime

import aio_pika

from bench._env import bench_settings
from shared.domain.events import CloudEvent
from shared.infra.broker import make_broker
from shared.infra.consuming import subscribe_events
from shared.infra.settings import Settings
from shared.infra.topology import EVENTS_EXCHANGE, ConsumerQueue, quorum_queue

QUEUE = ConsumerQueue("regwatch.bench.consume", EVENTS_EXCHANGE, ("bench.consume",))


async def queue_events(settings: Settings, count: int) -> None:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE.name)
        for index in range(count):
            event = CloudEvent(
                source="urn:regwatch:bench",
                type="bench.consume",
                time=datetime.now(UTC),
                data={"index": index},
            )
            await exchange.publish(
                aio_pika.Message(
                    json.dumps(event.model_dump(mode="json")).encode(),
                    message_id=event.id,
                    content_type="application/cloudevents+json",
                ),
                routing_key="bench.consume",
            )


async def one_round(settings: Settings, count: int) -> tuple[float, float]:
    """CPU microseconds per message and messages per second, for ``count`` queued events."""
    handled = 0
    all_handled = asyncio.Event()

    async def handler(event: CloudEvent) -> None:
        nonlocal handled
        handled += 1
        if handled == count:
            all_handled.set()

    broker = make_broker(settings, "consume-bench")
    subscribe_events(broker, QUEUE, settings, handler)
    await broker.connect()
    await broker.declare_exchange(EVENTS_EXCHANGE)
    queue = await broker.declare_queue(
        quorum_queue(QUEUE.name, delivery_limit=settings.delivery_limit)
    )
    await queue.bind(EVENTS_EXCHANGE.name, routing_key=QUEUE.routing_keys[0])
    await queue_events(settings, count)
    cpu, started = time.process_time(), time.perf_counter()
    await broker.start()
    await all_handled.wait()
    cpu, elapsed = time.process_time() - cpu, time.perf_counter() - started
    await broker.stop()
    return cpu / count * 1e6, count / elapsed


async def main(count: int, rounds: int) -> None:
    with bench_settings() as (settings, _):
        for index in range(rounds):
            cpu_us, rate = await one_round(settings, count)
            print(f"round {index}: {count} events, {cpu_us:.0f} us CPU per event, {rate:.0f}/s")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000, 3))
