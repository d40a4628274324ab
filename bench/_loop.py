"""CPU per I/O operation on the standard asyncio loop and on uvloop, in the same run.

    python -m bench._loop               # 2000 operations of each kind, 3 rounds on each loop

What every service spends per operation besides its own work, measured in this process on
each loop in turn (asyncio, uvloop, asyncio, uvloop ...): a MongoDB round trip (an indexed
``find_one``), a confirmed publish (1 KB), and an event through the services' consume path
(``bench/_consume.py``: FastStream's subscriber, the CloudEvent parse, the ack). Printed:
microseconds of CPU per operation on each loop (mean of the rounds) and uvloop's as a ratio
to asyncio's. The services run on uvloop unless ``EVENT_LOOP=asyncio``.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable

import aio_pika
import uvloop
from pymongo import AsyncMongoClient

from bench._consume import one_round
from bench._env import bench_settings
from shared.infra.settings import Settings

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop] | None] = {
    "asyncio": None,
    "uvloop": uvloop.new_event_loop,
}


async def io_round(settings: Settings, count: int) -> dict[str, float]:
    """CPU microseconds per find round trip, per confirmed publish and per consumed event."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongodb_url)
    collection = client[settings.mongodb_db]["loop_bench"]
    await collection.replace_one({"_id": "probe"}, {"_id": "probe"}, upsert=True)
    cpu = time.process_time()
    for _ in range(count):
        await collection.find_one({"_id": "probe"})
    find_us = (time.process_time() - cpu) / count * 1e6
    await client.close()

    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue("", exclusive=True)
        body = b"x" * 1024
        cpu = time.process_time()
        for _ in range(count):
            await channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue.name)
        publish_us = (time.process_time() - cpu) / count * 1e6
    consume_us, _ = await one_round(settings, count)
    return {
        "find round trip": find_us,
        "confirmed publish": publish_us,
        "consumed event": consume_us,
    }


def main(count: int, rounds: int) -> None:
    figures: dict[str, dict[str, list[float]]] = {name: defaultdict(list) for name in LOOPS}
    with bench_settings() as (settings, _):
        for _ in range(rounds):
            for name, factory in LOOPS.items():
                with asyncio.Runner(loop_factory=factory) as runner:
                    for kind, value in runner.run(io_round(settings, count)).items():
                        figures[name][kind].append(value)
    print(f"CPU per operation, us ({count} of each, {rounds} rounds on each loop, interleaved)")
    print(f"{'operation':<20}{'asyncio':>10}{'uvloop':>10}{'uvloop / asyncio':>20}")
    for kind in figures["asyncio"]:
        standard = statistics.mean(figures["asyncio"][kind])
        fast = statistics.mean(figures["uvloop"][kind])
        print(f"{kind:<20}{standard:>10.0f}{fast:>10.0f}{fast / standard:>20.2f}")


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 2000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 3,
    )
