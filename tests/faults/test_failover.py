"""Failover across broker addresses, in seconds and without a cluster: each "node" is a TCP
forwarder to the session's broker that can go away. The first address refuses; a service
connects through the next, and when that node goes away its consumer and its publisher
carry on through the third. The cluster test (``test_cluster.py``) does the same with real
nodes and a SIGKILL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import pytest
from faststream.rabbit import RabbitQueue

from devtools.local_infra import free_port
from shared.infra.broker import make_broker
from shared.infra.publisher import Publisher
from shared.infra.settings import Settings
from tests.faults.tcp_proxy import NodeProxy
from tests.support import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]


def on_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{parts.password}@127.0.0.1:{port}"))


async def send_direct(url: str, queue: str, body: bytes) -> None:
    """Publish straight to the broker, bypassing the nodes under test."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue)


async def until_published(publish: Callable[[], Awaitable[None]], timeout: float = 30) -> None:
    """Retry as the outbox relay does: a publish on a connection that is moving raises."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            await asyncio.wait_for(publish(), 15)
            return
        except Exception:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)


@pytest.mark.asyncio
async def test_a_service_skips_a_refusing_node_and_its_consumer_follows_the_next_failover(
    rabbitmq: dict[str, str],
) -> None:
    direct = rabbitmq["amqp_url"]
    target = urlsplit(direct)
    assert target.hostname
    assert target.port
    queue = f"failover-check-{uuid.uuid4().hex[:8]}"
    async with (
        NodeProxy(target.hostname, target.port) as second,
        NodeProxy(target.hostname, target.port) as third,
    ):
        refusing = on_port(direct, free_port())  # nothing listens there
        urls = [refusing, on_port(direct, second.port), on_port(direct, third.port)]
        settings = Settings(amqp_urls=",".join(urls))
        broker = make_broker(settings, "failover-check")
        received: list[bytes] = []

        @broker.subscriber(RabbitQueue(queue, durable=True, arguments={"x-expires": 60_000}))
        async def handle(body: bytes) -> None:
            received.append(body)

        publisher = Publisher(settings.broker_urls, name="failover-check publisher")
        try:
            await asyncio.wait_for(broker.start(), 30)
            assert second.open_connections == 1
            assert third.accepted == 0
            await send_direct(direct, queue, b"before")
            await wait_until(lambda: b"before" in received, timeout=20)
            await until_published(lambda: publisher.publish(b"p1", exchange="", routing_key=queue))
            await wait_until(lambda: b"p1" in received, timeout=20)

            await second.go_away()  # the node both connections were on
            await send_direct(direct, queue, b"after")
            await wait_until(lambda: b"after" in received, timeout=30)
            await until_published(lambda: publisher.publish(b"p2", exchange="", routing_key=queue))
            await wait_until(lambda: b"p2" in received, timeout=20)
            assert third.open_connections == 2  # the consumer's and the publisher's
        finally:
            await asyncio.wait_for(publisher.close(), 10)
            await asyncio.wait_for(broker.stop(), 20)
