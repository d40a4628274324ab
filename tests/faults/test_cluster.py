"""regwatch on a three-node RabbitMQ cluster: the node leading the queues SIGKILLed in the
middle of a stream, the services failing over to the other nodes; and the topology's
queues checked to be quorum queues with delivery limits and dead-letter paths."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from devtools.rabbit_cluster import RabbitCluster
from shared.infra import db as mongo
from shared.infra.broker import declare_topology, make_broker
from shared.infra.settings import Settings
from shared.infra.topology import (
    DEAD_LETTER_POLICY_NAME,
    DEAD_LETTER_QUEUE_NAME,
    INTAKE_DOCUMENTS,
    VALIDATOR_EVENTS,
)
from tests.faults.report import ROWS, ScenarioRow
from tests.faults.scenario import QUEUE_OF, Stream
from tests.faults.servers import MongoNode
from tests.processes import wait_for_consumers
from tests.support import own_database, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.heavy, pytest.mark.timeout(900)]
REPLICAS = {"intake": 3, "validator": 2, "notifier": 2, "scheduler": 3}
DOCUMENTS = 300
REMINDERS = 30
THROUGHPUT_DOCUMENTS = 200


@pytest.fixture(scope="module")
def cluster() -> Iterator[RabbitCluster]:
    root = Path(tempfile.mkdtemp(prefix="regwatch-cluster-"))
    nodes = RabbitCluster(root, prefix=f"rwcluster{os.getpid()}")
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.shutdown()


@pytest.fixture
def cluster_settings(
    cluster: RabbitCluster, mongo_node: MongoNode, smtp: dict[str, Any]
) -> Settings:
    return Settings(
        amqp_urls=",".join(cluster.amqp_urls),
        mongodb_url=mongo_node.url,
        mongodb_db=f"regwatch_cluster_{uuid.uuid4().hex[:8]}",
        smtp_host=smtp["host"],
        smtp_port=smtp["port"],
        outbox_poll_seconds=0.5,
        outbox_lease_seconds=3,
        delivery_limit=3,
        REGWATCH_OPS_TOKEN="fault-ops-token",
    )


@pytest_asyncio.fixture
async def cluster_db(cluster_settings: Settings) -> AsyncIterator[AsyncDatabase]:
    async with own_database(cluster_settings) as database:
        yield database


def ask_cluster(cluster: RabbitCluster) -> Any:
    return lambda *args: cluster.ctl_json(cluster.running()[0], *args)


async def queued(url: str, queue: str) -> int:
    """Messages ready in ``queue``, from a passive declare (list_queues counts lag)."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)


async def waiting_in(url: str, queues: list[str], timeout: float = 60) -> int:
    """Wait until ``queues`` hold messages not yet delivered; how many."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if waiting := sum([await queued(url, queue) for queue in queues]):
            return waiting
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing waited in {queues} within {timeout} s")


@pytest.mark.asyncio
async def test_killing_the_queue_leader_mid_stream_fails_over_and_loses_nothing(
    cluster: RabbitCluster, cluster_settings: Settings, cluster_db: AsyncDatabase
) -> None:
    stream = await Stream.start(cluster_settings, cluster_db, REPLICAS, ask_cluster(cluster))
    try:
        leader = cluster.node_named(cluster.leader_of(INTAKE_DOCUMENTS.name))
        await stream.add_reminders(REMINDERS)
        stream.send_in_background(DOCUMENTS)

        async def underway() -> bool:
            return await cluster_db["documents"].count_documents({}) >= DOCUMENTS // 5

        await wait_until(underway, timeout=120, interval=0.5)
        # Killed with messages waiting in the queues it leads (a passive declare: live
        # figures; rabbitmqctl's answer under load comes too late to time a kill on).
        in_flight = await waiting_in(
            leader.amqp_url, [INTAKE_DOCUMENTS.name, VALIDATOR_EVENTS.name]
        )
        killed_at = time.monotonic()
        await asyncio.to_thread(cluster.kill, leader)
        survivor = cluster.running()[0]
        for service, queue in QUEUE_OF.items():  # every consumer back, on the survivors
            await asyncio.to_thread(
                wait_for_consumers, survivor.amqp_url, queue, len(stream.replicas.of(service)), 120
            )
        recovered = time.monotonic() - killed_at
        new_leader = cluster.leader_of(INTAKE_DOCUMENTS.name, ask=survivor)
        await stream.add_reminders(REMINDERS)  # reminders due while the node is gone
        await asyncio.to_thread(cluster.start_node, leader)
        await stream.sent()
        await stream.settle()
        counted = await stream.count()
        dead_letters = await queued(survivor.amqp_url, DEAD_LETTER_QUEUE_NAME)
        ROWS.append(
            ScenarioRow(
                "cluster, SIGKILL queue leader",
                DOCUMENTS + len(stream.emails),
                faults=[f"SIGKILL node {leader.name}"],
                in_flight=[in_flight],
                lost=len(counted.lost),
                user_duplicates=len(counted.user_duplicates),
                absorbed_duplicates=counted.absorbed,
                resends=stream.fleet.resends,
                notes=(
                    f"consumers back on every queue {recovered:.1f} s after the kill; "
                    f"leader {leader.name} -> {new_leader}; dead letters {dead_letters}"
                ),
            )
        )
        assert new_leader != leader.name
        assert counted.lost == [], counted.lost[:10]
        assert counted.user_duplicates == [], counted.user_duplicates[:10]
        assert dead_letters == 0
    finally:
        await stream.close()


def _arguments(raw: Any) -> dict[str, Any]:
    # rabbitmqctl's JSON gives a table as [key, type, value] triples (or as a mapping).
    if isinstance(raw, dict):
        return raw
    return {item[0]: item[-1] for item in raw or []}


@pytest.mark.asyncio
async def test_every_durable_queue_is_a_quorum_queue_with_a_limit_and_a_dead_letter_path(
    cluster: RabbitCluster, cluster_settings: Settings
) -> None:
    broker = make_broker(cluster_settings, "topology-check")
    await broker.connect()
    try:
        await declare_topology(broker, cluster_settings)
    finally:
        await broker.stop()
    ask = ask_cluster(cluster)
    queues = {
        q["name"]: q
        for q in ask("list_queues", "name", "durable", "type", "arguments", "policy")
        if str(q["name"]).startswith("regwatch.")
    }
    assert DEAD_LETTER_QUEUE_NAME in queues
    assert INTAKE_DOCUMENTS.name in queues
    for name, queue in queues.items():
        assert queue["durable"], queue
        assert queue["type"] == "quorum", queue
        if name == DEAD_LETTER_QUEUE_NAME:
            continue
        arguments = _arguments(queue["arguments"])
        assert int(arguments["x-delivery-limit"]) == cluster_settings.delivery_limit, queue
        assert arguments["x-dead-letter-exchange"] == "regwatch.dlx", queue
    assert queues[DEAD_LETTER_QUEUE_NAME]["policy"] == DEAD_LETTER_POLICY_NAME
    policies = {p["name"]: p for p in ask("list_policies")}
    definition = policies[DEAD_LETTER_POLICY_NAME]["definition"]
    definition = (
        definition if isinstance(definition, dict) else __import__("json").loads(definition)
    )
    assert int(definition["delivery-limit"]) > 0


@pytest.mark.asyncio
async def test_cluster_throughput_with_one_and_with_three_replicas(
    cluster: RabbitCluster, cluster_settings: Settings
) -> None:
    """Documents per second through intake and validator on the cluster (for
    bench/RESULTS.md); asserts only that every document is stored once."""
    rates = {}
    for replicas in (1, 3):
        settings = cluster_settings.model_copy(
            update={"mongodb_db": f"{cluster_settings.mongodb_db}_{replicas}"}
        )
        client: AsyncMongoClient = mongo.connect(settings)
        database = mongo.database(client, settings)
        await mongo.ensure_indexes(database)
        counts = {"intake": replicas, "validator": replicas}
        stream = await Stream.start(settings, database, counts, ask_cluster(cluster))
        try:
            started = time.monotonic()
            await stream.fleet.send(stream.documents(THROUGHPUT_DOCUMENTS))
            await stream.settle()
            rates[replicas] = THROUGHPUT_DOCUMENTS / (time.monotonic() - started)
            counted = await stream.count()
            assert counted.lost == []
            assert counted.user_duplicates == []
        finally:
            await stream.close()
            await client.drop_database(settings.mongodb_db)
            await client.close()
    ROWS.append(
        ScenarioRow(
            "cluster throughput, 1 and 3 replicas",
            2 * THROUGHPUT_DOCUMENTS,
            notes="documents stored and validated per second: "
            + ", ".join(f"{n} replica(s) {rate:.1f}/s" for n, rate in rates.items()),
        )
    )
