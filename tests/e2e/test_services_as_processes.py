"""The first flow with every service in its own process, and their reconnection after the
broker drops their connections."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from devtools.local_infra import free_port
from shared.infra.settings import Settings
from shared.infra.topology import INTAKE_DOCUMENTS, VALIDATOR_EVENTS
from tests.dashboard_support import guest_partner, submission, submit_document
from tests.factories import make_application
from tests.processes import ServiceProcess, service_env, wait_for_consumers
from tests.servers import management_request
from tests.support import EventTap, sample_pdf, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def running_services(
    settings: Settings, rabbitmq: dict[str, str]
) -> Iterator[list[ServiceProcess]]:
    env = service_env(settings, intake_http_port=free_port())
    processes = [ServiceProcess("intake", env), ServiceProcess("validator", env)]
    try:
        for queue in (INTAKE_DOCUMENTS.name, VALIDATOR_EVENTS.name):
            wait_for_consumers(rabbitmq["amqp_url"], queue)
        yield processes
    finally:
        for process in processes:
            process.stop()


async def submit(amqp_url: str, application_id: str, body: bytes) -> None:
    await submit_document(amqp_url, submission(body, application_id=application_id))


async def partner_application(db: AsyncDatabase) -> str:
    return await make_application(db, await guest_partner(db))


def drop_service_connections(rabbitmq: dict[str, str], at_least: int) -> int:
    """Close every AMQP connection of the test vhost from the broker's side."""
    vhost = quote(rabbitmq["vhost"], safe="")
    deadline = time.monotonic() + 30
    while True:  # the management API lists new connections after a stats interval
        connections = management_request(
            rabbitmq["management_url"], "GET", f"vhosts/{vhost}/connections"
        )
        if len(connections) >= at_least or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for connection in connections:
        management_request(
            rabbitmq["management_url"],
            "DELETE",
            f"connections/{quote(connection['name'], safe='')}",
        )
    return len(connections)


@pytest.mark.asyncio
async def test_document_flows_through_service_processes(
    settings: Settings, db: AsyncDatabase, running_services: list[ServiceProcess]
) -> None:
    application_id = await partner_application(db)
    async with EventTap(settings.amqp_url) as tap:
        await submit(settings.amqp_url, application_id, sample_pdf(str(uuid.uuid4())))
        validated = await tap.wait_for(
            "application.validated", application_id=application_id, timeout=30
        )
    assert await db["documents"].count_documents({"application_id": application_id}) == 1
    assert validated[0]["data"]["verdict"] in {"complete", "incomplete", "refused"}


@pytest.mark.asyncio
async def test_services_reconnect_and_consume_after_broker_drops_connections(
    settings: Settings,
    db: AsyncDatabase,
    rabbitmq: dict[str, str],
    running_services: list[ServiceProcess],
) -> None:
    # At least each service's consuming connection (publishing ones open on first use).
    assert await asyncio.to_thread(drop_service_connections, rabbitmq, 2) >= 2
    await asyncio.sleep(1)
    for queue in (INTAKE_DOCUMENTS.name, VALIDATOR_EVENTS.name):
        await asyncio.to_thread(wait_for_consumers, rabbitmq["amqp_url"], queue, 1, 60)
    application_id = await partner_application(db)
    async with EventTap(settings.amqp_url) as tap:
        await submit(settings.amqp_url, application_id, sample_pdf(str(uuid.uuid4())))
        try:
            await tap.wait_for("application.validated", application_id=application_id, timeout=30)
        except AssertionError as exc:
            logs = "\n".join(f"--- {p.name}\n{p.output()[-4000:]}" for p in running_services)
            raise AssertionError(f"{exc}; the services' output:\n{logs}") from None
    assert all(p.alive() for p in running_services), [p.output()[-2000:] for p in running_services]


ALL_SERVICES = ("intake", "validator", "reader", "scheduler", "notifier", "dashboard")


@pytest.mark.asyncio
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_every_service_stops_on_a_signal_with_status_0_and_no_traceback(
    settings: Settings, sig: signal.Signals
) -> None:
    env = service_env(settings, intake_http_port=free_port(), dashboard_port=free_port())
    processes = [ServiceProcess(name, env) for name in ALL_SERVICES]
    try:
        for process in processes:
            await wait_until(
                lambda p=process: '"msg": "ready: ' in p.output() or not p.alive(),
                timeout=90,
                message=lambda p=process: f"{p.name} not ready:\n{p.output()[-2000:]}",
            )
        for process in processes:
            process.process.send_signal(sig)
        for process in processes:
            status = await asyncio.to_thread(process.process.wait, 30)
            output = process.output()
            assert status == 0, f"{process.name}:\n{output[-3000:]}"
            assert "Traceback" not in output, f"{process.name}:\n{output}"
            assert f"stopped by signal {sig.name}" in output, f"{process.name}:\n{output}"
    finally:
        for process in processes:
            process.stop()
