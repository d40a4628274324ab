"""The MongoDB server stopped and restarted while messages flow: consumers back off and
retry, nothing is acknowledged before it is stored, nothing is lost or doubled."""

from __future__ import annotations

import asyncio

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.infra.settings import Settings
from shared.infra.topology import INTAKE_DOCUMENTS, VALIDATOR_EVENTS
from tests.faults.servers import MongoNode
from tests.faults.stream import (
    ResilientPartner,
    assert_exactly_once,
    declare_tap,
    drain_tap,
    new_application,
    start_services,
    wait_consuming,
    wait_stored,
)
from tests.servers import management_request

pytestmark = pytest.mark.faults
DOCUMENTS = 20


@pytest.mark.asyncio
async def test_database_restart_mid_stream_loses_and_duplicates_nothing(
    fault_settings: Settings, fault_db: AsyncDatabase, mongo_node: MongoNode
) -> None:
    await declare_tap(fault_settings.amqp_url)
    services = start_services(fault_settings, ["intake", "validator"])
    try:
        await asyncio.to_thread(
            wait_consuming, fault_settings, "/", [INTAKE_DOCUMENTS.name, VALIDATOR_EVENTS.name]
        )
        application_id = await new_application(fault_db)
        async with ResilientPartner(fault_settings.amqp_url) as partner:
            for index in range(DOCUMENTS // 2):
                await partner.submit(application_id, index)
            await asyncio.to_thread(mongo_node.stop)
            for index in range(DOCUMENTS // 2, DOCUMENTS):
                await partner.submit(application_id, index)
            await asyncio.sleep(3)  # messages wait in the queue, unacknowledged
            await asyncio.to_thread(mongo_node.start)
        await wait_stored(fault_db, application_id, DOCUMENTS, timeout=180)
        await asyncio.sleep(1)
        events = await drain_tap(fault_settings.amqp_url)
        await assert_exactly_once(fault_db, application_id, DOCUMENTS, events)
        dead = management_request(
            fault_settings.rabbitmq_management_url, "GET", "queues/%2F/regwatch.dead_letters"
        )
        assert dead["messages"] == 0, "a message was dead-lettered during the outage"
        assert all(s.alive() for s in services), [s.output()[-3000:] for s in services]
    finally:
        for service in services:
            service.stop()
