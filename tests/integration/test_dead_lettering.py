"""Poison never blocks a queue: a message whose handling keeps failing is dead-lettered after
the delivery limit, an unparseable one at once, and the good messages behind them flow."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import aio_pika
import pytest
import pytest_asyncio
from faststream.rabbit import RabbitBroker

from shared.domain.events import CloudEvent
from shared.infra.broker import declare_topology, make_broker
from shared.infra.consuming import GiveUp, subscribe_events
from shared.infra.settings import Settings
from shared.infra.topology import EVENTS_EXCHANGE, ConsumerQueue
from tests import servers
from tests.support import drain_dead_letters, wait_until

handled_attempts: Counter[str] = Counter()
POISON_QUEUE = ConsumerQueue("regwatch.test.poison", EVENTS_EXCHANGE, ("test.poison",))


@pytest.fixture(scope="module")
def own_vhost() -> Iterator[dict[str, str]]:
    # A vhost of its own: this test reads the dead-letter queue, which others also use.
    with servers.rabbitmq_vhost() as vhost:
        yield vhost


@pytest_asyncio.fixture(scope="module")
async def poison_consumer(
    own_vhost: dict[str, str], settings: Settings
) -> AsyncIterator[tuple[RabbitBroker, list[str]]]:
    local = settings.model_copy(update={"amqp_url": own_vhost["amqp_url"], "delivery_limit": 2})
    broker = make_broker(local, "poison-test")
    handled: list[str] = []

    async def handler(event: CloudEvent) -> None:
        if event.data.get("poison"):
            handled_attempts[event.id] += 1
            raise RuntimeError("this message can never be handled")
        if event.data.get("hopeless"):
            raise GiveUp("the recipient's domain does not exist")
        handled.append(event.id)

    subscribe_events(broker, POISON_QUEUE, local, handler)
    await broker.connect()
    await declare_topology(broker, local)
    await broker.start()
    yield broker, handled
    await broker.stop()


async def publish(amqp_url: str, body: bytes, message_id: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE.name)
        await exchange.publish(
            aio_pika.Message(
                body, message_id=message_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
            ),
            routing_key="test.poison",
        )


def event_body(event_id: str, **data: object) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": "urn:regwatch:test",
            "type": "test.poison",
            "time": "2026-01-01T00:00:00Z",
            "data": data,
        }
    ).encode()


@pytest.mark.asyncio
async def test_poison_is_dead_lettered_and_the_queue_keeps_flowing(
    own_vhost: dict[str, str], poison_consumer: tuple[RabbitBroker, list[str]]
) -> None:
    _, handled = poison_consumer
    url = own_vhost["amqp_url"]
    poison_id = f"poison-{uuid.uuid4()}"
    await publish(url, event_body(poison_id, poison=True), poison_id)
    await publish(url, b"this is not a CloudEvent", "garbage-1")
    good = [f"good-{uuid.uuid4()}" for _ in range(5)]
    for event_id in good:
        await publish(url, event_body(event_id), event_id)

    await wait_until(lambda: set(good) <= set(handled), timeout=30)
    collected: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def both_dead_lettered() -> bool:
        collected.extend(await drain_dead_letters(url))
        return {"garbage-1", poison_id} <= {m.message_id for m in collected}

    await wait_until(both_dead_lettered, timeout=60, interval=0.5)
    by_id = {m.message_id: m for m in collected}
    # On its last delivery the consumer dead-letters it itself, naming the error.
    poison_headers = by_id[poison_id].headers
    assert poison_headers["x-first-death-queue"] == POISON_QUEUE.name
    assert (
        poison_headers["x-first-death-reason"] == "RuntimeError: this message can never be handled"
    )
    assert handled_attempts[poison_id] == 2  # the delivery limit
    assert by_id["garbage-1"].headers["x-death"][0]["reason"] == "rejected"
    assert poison_id not in handled


@pytest.mark.asyncio
async def test_a_handler_that_gives_up_dead_letters_at_once_with_its_reason(
    own_vhost: dict[str, str], poison_consumer: tuple[RabbitBroker, list[str]]
) -> None:
    url = own_vhost["amqp_url"]
    event_id = f"hopeless-{uuid.uuid4()}"
    await publish(url, event_body(event_id, hopeless=True), event_id)
    collected: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def dead_lettered() -> bool:
        collected.extend(await drain_dead_letters(url))
        return any(m.message_id == event_id for m in collected)

    await wait_until(dead_lettered, timeout=30, interval=0.3)
    headers = next(m for m in collected if m.message_id == event_id).headers
    assert headers["x-first-death-reason"] == "the recipient's domain does not exist"
    assert headers["x-first-death-queue"] == POISON_QUEUE.name
