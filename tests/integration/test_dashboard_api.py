"""The dashboard's JSON API and pages against the real broker, database and services."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import http.server
import json
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import aio_pika
import httpx
import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from services.cli import checkup
from services.dashboard.app import create_app
from services.dashboard.auth import hash_password
from services.dashboard.context import Dashboard
from shared.app.dead_letters import DeadLetterDesk, ReplayRefused
from shared.app.partners import issue_api_key
from shared.domain.clock import SystemClock
from shared.domain.deadlines import Deadline
from shared.domain.models import new_id
from shared.infra.deadline_store import open_deadline
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from shared.infra.topology import DEAD_LETTER_QUEUE_NAME, INTAKE_DOCUMENTS, VALIDATOR_EVENTS
from tests.dashboard_support import (
    dashboard_server,
    guest_partner,
    intake_dead_letter,
    ops_headers,
    poison_dead_letter,
    submission,
    submit_document,
    validated_application,
)
from tests.factories import make_application
from tests.servers import management_request
from tests.support import sample_pdf, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def dashboard(
    settings: Settings, services: list[ServiceContext]
) -> AsyncIterator[tuple[Dashboard, str]]:
    async with dashboard_server(settings) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def ops(
    dashboard: tuple[Dashboard, str], settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=dashboard[1], headers=ops_headers(settings)) as client:
        yield client


def notifier_delivery(
    event_id: str, recipient: str, status: str, now: datetime, reason: str | None = None
) -> dict[str, object]:
    """A ``deliveries`` record as the notifier writes it (services/notifier/deliveries.py)."""
    record: dict[str, object] = {
        "_id": f"{event_id}|{recipient}",
        "event_id": event_id,
        "event_type": "document.received",
        "recipient": recipient,
        "status": status,
        "attempts": 1,
        "created_at": now,
        "updated_at": now,
    }
    record.update({"sent_at": now} if status == "sent" else {"reason": reason})
    return record


async def test_healthz_answers_without_login(dashboard: tuple[Dashboard, str]) -> None:
    async with httpx.AsyncClient(base_url=dashboard[1]) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "regwatch-dashboard"}


async def test_doctor_port_check_knows_the_dashboard_from_another_program(
    dashboard: tuple[Dashboard, str],
) -> None:
    # `make run` waits for this check: the dashboard's other pages need a login.
    port = int(dashboard[1].rsplit(":", 1)[1])
    served = await asyncio.to_thread(
        checkup.port_finding, "127.0.0.1", "dashboard", "DASHBOARD_PORT", port
    )
    assert (served.verdict, served.detail) == (
        "ok",
        f"127.0.0.1:{port} served by regwatch (regwatch-dashboard)",
    )

    class Foreign(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')

        def log_message(self, *args: object) -> None:
            pass

    other = http.server.HTTPServer(("127.0.0.1", 0), Foreign)
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    try:
        taken = await asyncio.to_thread(
            checkup.port_finding, "127.0.0.1", "dashboard", "DASHBOARD_PORT", other.server_port
        )
    finally:
        other.shutdown()
    assert taken.verdict == "fail"
    assert "taken by another program" in taken.detail


async def test_api_and_pages_refuse_anonymous_callers_and_partner_api_keys(
    dashboard: tuple[Dashboard, str], db: AsyncDatabase
) -> None:
    # A real partner API key, issued the way the intake issues them.
    partner_key = await issue_api_key(db, partner_id=await guest_partner(db), now=datetime.now(UTC))
    async with httpx.AsyncClient(base_url=dashboard[1]) as client:
        assert (await client.get("/api/overview")).status_code == 401
        keyed = await client.get(
            "/api/overview", headers={"Authorization": f"Bearer {partner_key}"}
        )
        assert keyed.status_code == 401
        page = await client.get("/dead-letters")
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=/dead-letters"


async def test_login_with_ops_token_opens_pages_through_a_signed_cookie(
    dashboard: tuple[Dashboard, str], settings: Settings
) -> None:
    async with httpx.AsyncClient(base_url=dashboard[1]) as client:
        wrong = await client.post("/login", data={"password": "not-the-token"})
        assert wrong.status_code == 401
        assert "do not open the dashboard" in wrong.text
        right = await client.post(
            "/login", data={"password": settings.regwatch_ops_token, "next": "/applications"}
        )
        assert right.status_code == 303
        assert right.headers["location"] == "/applications"
        cookie = client.cookies["regwatch_ops"]
        assert (await client.get("/applications")).status_code == 200
        client.cookies.clear()
        client.cookies.set("regwatch_ops", cookie[:-4] + "AAAA")  # tampered signature
        assert (await client.get("/api/overview")).status_code == 401


async def test_login_with_a_user_from_the_hashed_user_list(
    dashboard: tuple[Dashboard, str], settings: Settings
) -> None:
    board = dashboard[0]
    users = f"mei:{hash_password('s3cret-yard-plan')}"
    ctx = dataclasses.replace(
        board.ctx, settings=settings.model_copy(update={"dashboard_users": users})
    )
    app = create_app(dataclasses.replace(board, ctx=ctx))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dash") as client:
        bad = await client.post("/login", data={"username": "mei", "password": "guess"})
        assert bad.status_code == 401
        good = await client.post("/login", data={"username": "mei", "password": "s3cret-yard-plan"})
        assert good.status_code == 303
        page = await client.get("/")
        assert page.status_code == 200
        assert "mei" in page.text


async def test_overview_counts_applications_documents_deadlines_and_emails(
    ops: httpx.AsyncClient, settings: Settings, db: AsyncDatabase
) -> None:
    before = (await ops.get("/api/overview")).json()["overview"]
    category = "food.special_dietary"  # a category no other test of this session uses
    application_id = await validated_application(settings, db, category=category, product=None)
    now = datetime.now(UTC)
    deadline = Deadline(
        _id=new_id("dl"),
        kind="rectification",
        subject=application_id,
        application_id=application_id,
        due_at=now + timedelta(days=5),
        opened_at=now,
        reminder_offsets_days=[3, 1],
    )
    await open_deadline(db, deadline)
    await db["deliveries"].insert_one(
        notifier_delivery(
            str(uuid.uuid4()), "a@b.example", "failed", now, reason="550 no such user"
        )
    )

    data = (await ops.get("/api/overview")).json()
    overview = data["overview"]
    # Validation may already have moved the application on: any status, counted once.
    assert [a["count"] for a in overview["applications"] if a["category"] == category] == [1]
    assert overview["applications_total"] == before["applications_total"] + 1
    assert overview["documents_today"] == before["documents_today"] + 1
    assert overview["deadlines"]["within_days"]["7"] == before["deadlines"]["within_days"]["7"] + 1
    assert overview["deliveries"]["failed"] == before["deliveries"].get("failed", 0) + 1
    assert overview["reminders"]["pending"] >= 3
    assert sum(overview["verdicts"].values()) >= 1
    queues = {q["name"]: q for q in data["queues"]["queues"]}
    assert queues[INTAKE_DOCUMENTS.name]["consumers"] >= 1
    assert queues[VALIDATOR_EVENTS.name]["consumers"] >= 1
    page = await ops.get("/")
    assert page.status_code == 200
    assert category in page.text
    weeks = (await ops.get("/api/charts/deadlines-per-week")).json()["bars"]
    assert len(weeks) == 12
    assert sum(w["count"] for w in weeks) >= 1
    minutes = (await ops.get("/api/charts/events-per-minute")).json()["bars"]
    assert len(minutes) == 60
    assert sum(m["count"] for m in minutes) >= 2


async def test_queue_alarms_name_queues_without_consumer_and_a_non_empty_dlq(
    ops: httpx.AsyncClient, settings: Settings
) -> None:
    await poison_dead_letter(settings.amqp_url, VALIDATOR_EVENTS.name, b"not an event")

    async def dlq_alarm() -> bool:
        report = (await ops.get("/api/queues")).json()
        return any(a["queue"] == DEAD_LETTER_QUEUE_NAME for a in report["alarms"])

    await wait_until(dlq_alarm, timeout=20, interval=0.3)
    report = (await ops.get("/api/queues")).json()
    # Nothing consumes the notifier's queue in this module: that must be an alarm too.
    assert any(
        a["queue"] == "regwatch.notifier.events" and "no consumer" in a["message"]
        for a in report["alarms"]
    )
    assert "ALARM regwatch.dead_letters" in (await ops.get("/partials/overview")).text


async def test_application_page_shows_documents_validation_deadlines_and_emails(
    ops: httpx.AsyncClient, settings: Settings, db: AsyncDatabase
) -> None:
    application_id = await validated_application(settings, db)
    received = await db["outbox"].find_one({"type": "document.received", "subject": application_id})
    assert received is not None
    now = datetime.now(UTC)
    await db["deliveries"].insert_one(
        notifier_delivery(received["_id"], "exports@nordicscrap.example", "sent", now)
    )
    await open_deadline(
        db,
        Deadline(
            _id=new_id("dl"),
            kind="additional_materials",
            subject=application_id,
            application_id=application_id,
            due_at=now + timedelta(days=30),
            opened_at=now,
            reminder_offsets_days=[14, 7],
        ),
    )

    detail = (await ops.get(f"/api/applications/{application_id}")).json()
    assert detail["application"]["exporter"] == "Nordic Scrap AB"
    assert [d["document_type"] for d in detail["documents"]] == ["business_licence"]
    assert detail["validation"]["outcomes"], "the rule-by-rule result is shown"
    assert {e["type"] for e in detail["events"]} >= {"document.received", "application.validated"}
    assert [r["point"] for r in detail["deadlines"][0]["reminders"]] == ["T-14d", "T-7d", "due"]
    [email] = detail["deliveries"]
    assert email["recipient"] == "exports@nordicscrap.example"
    assert email["status"] == "sent"
    assert email["at"] is not None
    assert email["event_type"] == "document.received"

    page = await ops.get(f"/applications/{application_id}")
    assert page.status_code == 200
    assert 'id="verdict"' in page.text
    assert "exports@nordicscrap.example" in page.text
    document = detail["documents"][0]
    content = await ops.get(
        f"/applications/{application_id}/documents/{document['id']}/content?download=1"
    )
    assert content.status_code == 200
    assert content.headers["content-type"] == "application/pdf"
    assert content.headers["content-disposition"].startswith("attachment")
    assert hashlib.sha256(content.content).hexdigest() == document["sha256"]
    preview = await ops.get(f"/applications/{application_id}/documents/{document['id']}/content")
    # A PDF is never opened on the dashboard's origin (see tests/security/test_dashboard_security).
    assert preview.headers["content-disposition"].startswith("attachment")
    assert preview.headers["x-content-type-options"] == "nosniff"
    missing = await ops.get("/api/applications/app_nothing")
    assert missing.status_code == 404
    assert "There is no application app_nothing" in missing.json()["detail"]


async def test_event_log_filters_by_type_and_application(
    ops: httpx.AsyncClient, settings: Settings, db: AsyncDatabase
) -> None:
    application_id = await validated_application(settings, db)
    events = (await ops.get("/api/events", params={"application": application_id})).json()
    assert {e["type"] for e in events} >= {"document.received", "application.validated"}
    assert {e["subject"] for e in events} == {application_id}
    typed = (
        await ops.get(
            "/api/events", params={"application": application_id, "type": "document.received"}
        )
    ).json()
    assert [e["type"] for e in typed] == ["document.received"]
    page = await ops.get("/events", params={"application": application_id})
    assert f"/events/stream?type=&amp;application={application_id}" in page.text


async def test_live_stream_delivers_new_events_of_the_chosen_application_only(
    ops: httpx.AsyncClient, settings: Settings, db: AsyncDatabase
) -> None:
    partner_id = await guest_partner(db)
    watched = await make_application(db, partner_id)
    other = await make_application(db, partner_id)
    received: list[dict[str, object]] = []

    async def listen() -> None:
        params = {"application": watched}
        async with ops.stream("GET", "/api/events/stream", params=params, timeout=30) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data:") and line[5:].strip().startswith("{"):
                    received.append(json.loads(line[5:]))
                    if any(e["type"] == "application.validated" for e in received):
                        return

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.5)  # the stream is subscribed before the first event
    for application_id in (other, watched):
        await submit_document(
            settings.amqp_url,
            submission(sample_pdf(str(uuid.uuid4())), application_id=application_id),
        )
    await asyncio.wait_for(listener, timeout=25)
    # An event is about an application by its subject or by the application it names.
    about = [(e["type"], e["subject"], e["application_id"]) for e in received]
    assert all(watched in (subject, named) for _, subject, named in about), about
    assert not any(other in (subject, named) for _, subject, named in about), about
    types = [e["type"] for e in received]
    assert types[0] == "document.received"
    assert "application.validated" in types


async def test_dead_letter_is_listed_then_discarded_with_the_action_recorded(
    ops: httpx.AsyncClient, settings: Settings, db: AsyncDatabase
) -> None:
    body = f"garbage {uuid.uuid4()}".encode()
    message_id = await poison_dead_letter(settings.amqp_url, VALIDATOR_EVENTS.name, body)

    async def listed() -> list[dict[str, object]]:
        letters = (await ops.get("/api/dead-letters")).json()
        return [d for d in letters if d["message_id"] == message_id]

    await wait_until(listed, timeout=20, interval=0.3)
    [letter] = await listed()
    assert letter["queue"] == VALIDATOR_EVENTS.name
    assert letter["reason"] == "rejected"
    assert letter["preview"] == body.decode()
    assert "x-death" in letter["headers"]
    assert await listed(), "listing leaves the letter in the queue"

    discarded = await ops.post(f"/api/dead-letters/{letter['id']}/discard")
    assert discarded.status_code == 200
    assert not await listed()
    actions = (await ops.get("/api/dead-letters/actions")).json()
    assert actions[0]["action"] == "discard"
    assert actions[0]["message_id"] == message_id
    assert actions[0]["actor"] == "ops-token"
    again = await ops.post(f"/api/dead-letters/{letter['id']}/discard")
    assert again.status_code == 404


async def test_replayed_dead_letter_goes_back_to_its_queue_and_is_processed(
    ops: httpx.AsyncClient, settings: Settings, db: AsyncDatabase
) -> None:
    application_id = await make_application(db, await guest_partner(db))
    message = submission(sample_pdf(str(uuid.uuid4())), application_id=application_id)
    await intake_dead_letter(settings.amqp_url, message)
    letters = (await ops.get("/api/dead-letters")).json()
    [letter] = [d for d in letters if d["message_id"] == message.message_id]
    assert letter["queue"] == INTAKE_DOCUMENTS.name
    assert letter["reason"] == "delivery_limit"

    replayed = await ops.post(f"/api/dead-letters/{letter['id']}/replay")
    assert replayed.status_code == 200
    assert replayed.json()[0]["action"] == "replay"

    async def stored() -> bool:
        return bool(await db["documents"].find_one({"idempotency_key": message.message_id}))

    await wait_until(stored, timeout=20)
    letters = (await ops.get("/api/dead-letters")).json()
    assert not [d for d in letters if d["message_id"] == message.message_id]


async def test_metrics_show_request_and_consumer_metrics(
    ops: httpx.AsyncClient, settings: Settings, db: AsyncDatabase
) -> None:
    await validated_application(settings, db)
    await ops.get("/api/overview")
    text = (await ops.get("/metrics")).text
    assert (
        'regwatch_http_requests_total{method="GET",route="/api/overview",service="dashboard",status="200"}'
        in text
    )
    assert "faststream_received_messages_total" in text
    assert (await ops.get("/charts/events-per-minute.svg")).text.startswith("<svg")
    assert "/charts/deadlines-per-week.svg?at=" in (await ops.get("/partials/charts")).text


async def test_replay_of_another_users_message_is_refused_and_the_letter_stays(
    settings: Settings,
    db: AsyncDatabase,
    rabbitmq: dict[str, str],
    dashboard: tuple[Dashboard, str],  # the topology is declared
) -> None:
    """RabbitMQ checks user_id against the publishing connection: a dashboard user without
    the impersonator tag cannot replay a partner's message, and must say why."""
    user, password = f"dash-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    management = rabbitmq["management_url"]
    await asyncio.to_thread(
        management_request, management, "PUT", f"users/{user}", {"password": password, "tags": ""}
    )
    vhost = quote(rabbitmq["vhost"], safe="")
    await asyncio.to_thread(
        management_request,
        management,
        "PUT",
        f"permissions/{vhost}/{user}",
        {"configure": ".*", "write": ".*", "read": ".*"},
    )
    try:
        application_id = await make_application(db, await guest_partner(db))
        message = submission(sample_pdf(str(uuid.uuid4())), application_id=application_id)
        await intake_dead_letter(settings.amqp_url, message)  # user_id "guest"
        url = f"amqp://{user}:{password}@127.0.0.1:5672/{vhost}"
        connection = await aio_pika.connect_robust(url)
        try:
            desk = DeadLetterDesk(connection, db, SystemClock())
            [letter] = [d for d in await desk.letters() if d.message_id == message.message_id]
            with pytest.raises(ReplayRefused, match="impersonator"):
                await desk.replay(ids=[letter.id], actor="test")
            still = [d for d in await desk.letters() if d.message_id == message.message_id]
            assert [d.id for d in still] == [letter.id]
        finally:
            await connection.close()
        assert not await db["dead_letter_actions"].find_one({"message_id": message.message_id})
    finally:
        await asyncio.to_thread(management_request, management, "DELETE", f"users/{user}")
