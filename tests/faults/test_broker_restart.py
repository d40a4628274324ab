"""Broker restart in the middle of a stream: services reconnect by themselves, every consumer
consumes again, and every document is stored once."""

from __future__ import annotations

import asyncio

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.infra.settings import Settings
from shared.infra.topology import INTAKE_DOCUMENTS, VALIDATOR_EVENTS
from tests.faults.rabbit_node import RabbitNode
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

pytestmark = pytest.mark.faults
DOCUMENTS = 30
QUEUES = [INTAKE_DOCUMENTS.name, VALIDATOR_EVENTS.name]


@pytest.mark.asyncio
async def test_broker_restart_mid_stream_loses_and_duplicates_nothing(
    fault_settings: Settings, fault_db: AsyncDatabase, rabbit_node: RabbitNode
) -> None:
    await declare_tap(fault_settings.amqp_url)
    services = start_services(fault_settings, ["intake", "validator"])
    try:
        await asyncio.to_thread(wait_consuming, fault_settings, "/", QUEUES)
        application_id = await new_application(fault_db)
        async with ResilientPartner(fault_settings.amqp_url) as partner:
            for index in range(DOCUMENTS // 2):
                await partner.submit(application_id, index)
            await asyncio.to_thread(rabbit_node.stop_app)
            await asyncio.sleep(2)
            await asyncio.to_thread(rabbit_node.start_app)
            for index in range(DOCUMENTS // 2, DOCUMENTS):
                await partner.submit(application_id, index)
        # The consumers come back by themselves (the known aio-pika/FastStream weak spot).
        await asyncio.to_thread(wait_consuming, fault_settings, "/", QUEUES, 90)
        await wait_stored(fault_db, application_id, DOCUMENTS)
        await asyncio.sleep(1)
        events = await drain_tap(fault_settings.amqp_url)
        await assert_exactly_once(fault_db, application_id, DOCUMENTS, events)
        assert all(s.alive() for s in services), [s.output()[-3000:] for s in services]
    finally:
        for service in services:
            service.stop()
