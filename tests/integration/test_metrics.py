"""Prometheus metrics: request metrics on the intake HTTP app, FastStream's consumer
metrics (kept by ``MessageMetrics`` as FastStream's own middleware keeps them), and the
exporter that services without HTTP start on METRICS_PORT."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from faststream import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitQueue
from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
from prometheus_client import CollectorRegistry
from pymongo.asynchronous.database import AsyncDatabase

from devtools.local_infra import free_port
from services.intake import app as intake_app
from services.intake.http import create_http_app
from shared.infra.metrics import MessageMetrics, start_exporter
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


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``registry`` by name and labels; durations by their count only."""
    found = {}
    for family in registry.collect():
        for sample in family.samples:
            if "duration_seconds" in sample.name and not sample.name.endswith("_count"):
                continue  # times differ between two measurements of the same message
            if sample.name.endswith("_created"):
                continue
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_message_metrics_are_faststreams_metrics(settings: Settings) -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    broker = RabbitBroker(
        settings.amqp_url,
        middlewares=[
            RabbitPrometheusMiddleware(registry=theirs, app_name="regwatch-check"),
            MessageMetrics(registry=ours, app_name="regwatch-check"),
        ],
    )
    queue = RabbitQueue(f"metrics-check-{uuid.uuid4().hex[:8]}", auto_delete=True)
    handled: list[bytes] = []

    @broker.subscriber(queue, ack_policy=AckPolicy.REJECT_ON_ERROR)
    async def handle(body: bytes) -> None:
        handled.append(body)
        if body == b"fail":
            raise RuntimeError("refused")

    await broker.start()
    try:
        for body in (b"one", b"fail", b"three"):
            await broker.publish(body, queue=queue)
        await wait_until(lambda: len(handled) == 3, timeout=20)
        # The last message's counts are written once its handling has returned.
        await wait_until(lambda: samples(ours) == samples(theirs), timeout=5)
    finally:
        await broker.stop()
    handler = {
        "app_name": "regwatch-check",
        "broker": "rabbitmq",
        "handler": f"default.{queue.name}",
    }
    ours_now = samples(ours)
    assert ours_now == samples(theirs)
    key = tuple(sorted(handler.items()))
    assert ours_now[("faststream_received_messages_total", key)] == 3
    assert ours_now[("faststream_received_messages_size_bytes_sum", key)] == 12
    assert ours_now[("faststream_received_messages_in_process", key)] == 0
    acked = tuple(sorted({**handler, "status": "acked"}.items()))
    failed = tuple(sorted({**handler, "status": "error"}.items()))
    assert ours_now[("faststream_received_processed_messages_total", acked)] == 2
    assert ours_now[("faststream_received_processed_messages_total", failed)] == 1
    published = {"app_name": "regwatch-check", "broker": "rabbitmq"}
    sent = tuple(
        sorted({**published, "destination": f"default.{queue.name}", "status": "success"}.items())
    )
    assert ours_now[("faststream_published_messages_total", sent)] == 3
