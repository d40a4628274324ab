"""The broker, or the database, SIGKILLed in the middle of a stream with replicas running,
then started again on the same data: nothing confirmed is lost, nothing reaches a user
twice."""

from __future__ import annotations

import asyncio

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.infra.settings import Settings
from tests.faults.rabbit_node import RabbitNode
from tests.faults.report import ROWS, ScenarioRow
from tests.faults.scenario import Stream
from tests.faults.servers import MongoNode
from tests.support import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.heavy, pytest.mark.timeout(900)]
REPLICAS = {"intake": 2, "validator": 2, "notifier": 2, "scheduler": 2}
DOCUMENTS = 160
SECOND_WAVE = 240
REMINDERS = 20


@pytest.mark.asyncio
@pytest.mark.parametrize("server", ["broker", "database"])
async def test_broker_or_database_sigkilled_mid_stream_loses_and_duplicates_nothing(
    server: str,
    fault_settings: Settings,
    fault_db: AsyncDatabase,
    rabbit_node: RabbitNode,
    mongo_node: MongoNode,
) -> None:
    stream = await Stream.start(
        fault_settings,
        fault_db,
        REPLICAS,
        rabbit_node.ctl_json,
        management_url=rabbit_node.management_url,
    )
    try:
        await stream.add_reminders(REMINDERS)
        stream.send_in_background(DOCUMENTS)

        async def underway() -> bool:
            return await fault_db["documents"].count_documents({}) >= DOCUMENTS // 3

        await wait_until(underway, timeout=120, interval=0.3)
        await stream.add_reminders(REMINDERS)  # claims and mails in flight too
        # Killed while consumers hold deliveries, between their delivery and their ack.
        held = await stream.wait_for_held_work()
        if server == "broker":
            # ... and while partners publish: a second wave, killed before its confirms.
            stream.send_in_background(SECOND_WAVE)
            publishing = await stream.wait_for_publishing()
            await asyncio.to_thread(rabbit_node.kill)
            stream.in_flight.append(held + publishing)
            stream.faults.append("SIGKILL broker")
            await asyncio.to_thread(rabbit_node.start)
            await stream.wait_consuming()
        else:
            stream.in_flight.append(held)
            await asyncio.to_thread(mongo_node.kill)
            stream.faults.append("SIGKILL database")
            await asyncio.to_thread(mongo_node.start)

        await stream.sent()
        await stream.settle()
        counted = await stream.count()
        dead_letters = await stream.dead_letters()
        ROWS.append(
            ScenarioRow(
                f"replicas 2/2/2/2, SIGKILL {server}",
                stream.documents_sent + len(stream.emails),
                faults=stream.faults,
                in_flight=stream.in_flight,
                lost=len(counted.lost),
                user_duplicates=len(counted.user_duplicates),
                absorbed_duplicates=counted.absorbed,
                resends=stream.fleet.resends,
                notes=f"dead letters {dead_letters}",
            )
        )
        assert counted.lost == [], counted.lost[:10]
        assert counted.user_duplicates == [], counted.user_duplicates[:10]
        assert dead_letters == 0
        if server == "broker":  # the kill met unconfirmed publishes, which partners resent
            assert stream.fleet.resends > 0
    finally:
        await stream.close()
