"""A consumer killed with SIGKILL in the middle of a stream, and the outbox relay killed
between the database write and the publish: after a restart nothing is lost or doubled."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.infra.settings import Settings
from shared.infra.topology import INTAKE_DOCUMENTS, VALIDATOR_EVENTS
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
from tests.support import wait_until

pytestmark = pytest.mark.faults
DOCUMENTS = 24


@pytest.mark.asyncio
async def test_sigkilled_consumers_restart_and_process_every_message_once(
    fault_settings: Settings, fault_db: AsyncDatabase
) -> None:
    await declare_tap(fault_settings.amqp_url)
    intake, validator = start_services(fault_settings, ["intake", "validator"])
    try:
        await asyncio.to_thread(
            wait_consuming, fault_settings, "/", [INTAKE_DOCUMENTS.name, VALIDATOR_EVENTS.name]
        )
        application_id = await new_application(fault_db)
        async with ResilientPartner(fault_settings.amqp_url) as partner:
            for index in range(DOCUMENTS):
                await partner.submit(application_id, index)
                if index == DOCUMENTS // 3:
                    intake.kill()  # SIGKILL while messages are in flight
                if index == DOCUMENTS // 2:
                    validator.kill()
        intake, validator = start_services(fault_settings, ["intake", "validator"])
        await wait_stored(fault_db, application_id, DOCUMENTS)
        await wait_until(
            lambda: fault_db["validation_results"].count_documents(
                {"application_id": application_id}
            ),
            timeout=60,
        )
        await asyncio.sleep(1)
        events = await drain_tap(fault_settings.amqp_url)
        await assert_exactly_once(fault_db, application_id, DOCUMENTS, events)
    finally:
        intake.stop()
        validator.stop()


def set_event_publishing(settings: Settings, allowed: bool) -> None:
    """Grant or withdraw the right to publish to regwatch.events (write permission)."""
    write = ".*" if allowed else "^(?!regwatch\\.events$).*"
    management_request(
        settings.rabbitmq_management_url,
        "PUT",
        f"permissions/{quote('/', safe='')}/guest",
        {"configure": ".*", "write": write, "read": ".*"},
    )


@pytest.mark.asyncio
async def test_relay_killed_between_write_and_publish_publishes_after_restart(
    fault_settings: Settings, fault_db: AsyncDatabase
) -> None:
    await declare_tap(fault_settings.amqp_url)
    (intake,) = start_services(fault_settings, ["intake"])
    try:
        await asyncio.to_thread(wait_consuming, fault_settings, "/", [INTAKE_DOCUMENTS.name])
        application_id = await new_application(fault_db)
        # The broker refuses the relay's publishes: documents are written, events stay pending.
        await asyncio.to_thread(set_event_publishing, fault_settings, False)
        async with ResilientPartner(fault_settings.amqp_url) as partner:
            for index in range(6):
                await partner.submit(application_id, index)

        async def written() -> bool:
            return (
                await fault_db["documents"].count_documents({"application_id": application_id}) == 6
            )

        await wait_until(written, timeout=60, message=lambda: intake.output()[-4000:])
        pending = await fault_db["outbox"].count_documents(
            {"subject": application_id, "type": "document.received", "status": "pending"}
        )
        assert pending == 6, "the events were published although the broker refused them"
        intake.kill()  # the relay dies holding unpublished entries
        await asyncio.to_thread(set_event_publishing, fault_settings, True)
        (intake,) = start_services(fault_settings, ["intake"])
        await wait_stored(fault_db, application_id, 6, timeout=90)
        await asyncio.sleep(1)
        events = await drain_tap(fault_settings.amqp_url)
        await assert_exactly_once(fault_db, application_id, 6, events)
    finally:
        await asyncio.to_thread(set_event_publishing, fault_settings, True)
        intake.stop()
