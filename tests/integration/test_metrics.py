"""Prometheus metrics: request metrics on the intake HTTP app, FastStream's consumer
metrics, and the exporter that services without HTTP start on METRICS_PORT."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from devtools.local_infra import free_port
from services.intake import app as intake_app
from services.intake.http import create_http_app
from shared.infra.metrics import start_exporter
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from tests.dashboard_support import guest_partner, submission, submit_document
from tests.factories import make_application
from tests.support import sample_pdf, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def intake(settings: Settings, db: AsyncDatabase) -> AsyncIterator[ServiceContext]:
    ctx = await intake_app.start(settings)
    yield ctx
    await ctx.close()


async def test_intake_http_app_serves_request_and_consumer_metrics(
    intake: ServiceContext, settings: Settings, db: AsyncDatabase
) -> None:
    application_id = await make_application(db, await guest_partner(db))
    message = submission(sample_pdf(str(uuid.uuid4())), application_id=application_id)
    await submit_document(settings.amqp_url, message)

    async def stored() -> bool:
        return bool(await db["documents"].find_one({"idempotency_key": message.message_id}))

    await wait_until(stored, timeout=20)
    transport = httpx.ASGITransport(app=create_http_app(intake))
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        assert (await client.get("/healthz")).status_code == 200
        ops = {"Authorization": f"Bearer {settings.regwatch_ops_token}"}
        text = (await client.get("/metrics", headers=ops)).text
    assert (
        'regwatch_http_requests_total{method="GET",route="/healthz",service="intake",status="200"}'
        in text
    )
    assert 'faststream_received_messages_total{app_name="regwatch-intake"' in text


async def test_exporter_serves_metrics_on_its_own_port() -> None:
    port = free_port()
    start_exporter(port)
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    assert "regwatch_http_requests_total" in response.text
