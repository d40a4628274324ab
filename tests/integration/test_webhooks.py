"""Signed webhooks: a receiver on 127.0.0.1 verifies every delivery with
``standardwebhooks``, gets each of its partner's events (never another partner's), and
gets them after being down for a while; an endpoint that keeps failing is disabled, the
partner sees why, ops are alarmed and redeliver."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.fernet import Fernet
from pymongo.asynchronous.database import AsyncDatabase
from standardwebhooks import Webhook

from devtools.local_infra import free_port
from services.intake.http import create_http_app
from services.webhooks import app as webhooks_app
from shared.app import webhook_secrets
from shared.app.onboarding import PartnerCredentials
from shared.app.webhooks import generate_secret
from shared.infra import db as mongo
from shared.infra.runtime import ServiceContext
from shared.infra.secret_box import SecretBox, derived_key
from shared.infra.settings import Settings
from tests.dashboard_support import dashboard_server, ops_headers
from tests.factories import make_application
from tests.integration.partner_support import (
    about,
    deadline_event,
    stage_and_relay,
    submit,
)
from tests.support import EventTap, sample_pdf, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Receiver:
    """A partner's endpoint: verifies each request with ``standardwebhooks`` and keeps it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/regwatch"
        self.secret = ""
        self.events: list[dict[str, Any]] = []
        self.webhook_ids: list[str] = []
        self.refused: list[str] = []
        self.requests: list[tuple[bytes, dict[str, str]]] = []  # as received, for re-checks
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.requests.append((body, headers))
        try:
            event = Webhook(self.secret).verify(body, headers)
        except Exception as exc:
            self.refused.append(str(exc))
            status = 400
        else:
            self.events.append(event)
            self.webhook_ids.append(headers["webhook-id"])
            status = 204
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def ids(self) -> set[str]:
        return {e["id"] for e in self.events}

    async def start(self) -> None:
        config = uvicorn.Config(
            self, host="127.0.0.1", port=self.port, log_config=None, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        await wait_until(lambda: self._server is not None and self._server.started)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task


@asynccontextmanager
async def webhooks_service(settings: Settings, **changes: Any) -> AsyncIterator[ServiceContext]:
    """The webhooks service with quick retries."""
    quick = {
        "webhook_retry_base_seconds": 0.2,
        "webhook_retry_max_seconds": 1.0,
        "webhook_poll_seconds": 0.2,
        "webhook_connect_timeout_seconds": 2.0,
        "webhook_read_timeout_seconds": 3.0,
    }
    service = await webhooks_app.start(settings.model_copy(update=quick | changes))
    try:
        yield service
    finally:
        await service.close()


def partner_api(ctx: ServiceContext, partner: PartnerCredentials) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_http_app(ctx)),
        base_url="http://intake.test",
        headers={"Authorization": f"Bearer {partner.api_key}"},
    )


async def register(
    ctx: ServiceContext, partner: PartnerCredentials, receiver: Receiver, **body: Any
) -> dict[str, Any]:
    async with partner_api(ctx, partner) as api:
        response = await api.post("/v1/webhooks", json={"url": receiver.url, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert created["secret"].startswith("whsec_")
    assert created["status"] == "active"
    receiver.secret = created["secret"]
    return created


async def attempts_of(db: AsyncDatabase, endpoint_id: str) -> int:
    deliveries = await db["webhook_deliveries"].find({"endpoint_id": endpoint_id}).to_list()
    return sum(d["attempt_count"] for d in deliveries)


async def test_a_receiver_down_for_a_while_gets_each_of_its_events_signed(
    services: list[ServiceContext], onboard: Any, settings: Settings, db: AsyncDatabase
) -> None:
    intake = services[0]
    a, b = await onboard("Webhook partner A"), await onboard("Webhook partner B")
    app_a, app_b = (
        await make_application(db, a.partner_id),
        await make_application(db, b.partner_id),
    )
    receiver_a, receiver_b = Receiver(), Receiver()
    endpoint_a = await register(intake, a, receiver_a)
    await register(intake, b, receiver_b, events=["document.*"])
    await receiver_b.start()
    async with webhooks_service(settings), EventTap(settings.amqp_url) as tap:
        for partner, application_id in ((a, app_a), (b, app_b)):
            await submit(settings, partner, application_id, sample_pdf(f"{uuid.uuid4()}"))
            await submit(settings, partner, application_id, b"not a pdf at all")
        await stage_and_relay(
            intake, deadline_event("rectification", subject=app_a, application_id=app_a)
        )
        for application_id in (app_a, app_b):
            await tap.wait_for("application.validated", application_id=application_id)
            await tap.wait_for("document.rejected", application_id=application_id)
        # A's endpoint is down: attempts fail and are retried, none waits on another.
        await wait_until(lambda: _at_least(attempts_of(db, endpoint_a["id"]), 8))
        expected_b = {e["id"] for e in tap.events if e["data"].get("application_id") == app_b} & {
            e["id"] for e in tap.events if e["type"].startswith("document.")
        }
        await wait_until(lambda: receiver_b.ids() == expected_b, message=lambda: "B's receiver")
        await receiver_a.start()
        expected_a = about(tap.events, app_a, set())
        await wait_until(
            lambda: receiver_a.ids() == expected_a, timeout=30, message=lambda: "A's receiver"
        )
    await receiver_a.stop()
    await receiver_b.stop()
    assert receiver_a.refused == []
    assert receiver_b.refused == []
    published = {e["id"]: e for e in tap.events}
    for event, webhook_id in zip(receiver_a.events, receiver_a.webhook_ids, strict=True):
        assert event == published[event["id"]]
        assert webhook_id == event["id"]
    assert {"document.received", "document.rejected", "application.validated"} <= {
        e["type"] for e in receiver_a.events
    }
    assert "deadline.rectification_due" in {e["type"] for e in receiver_a.events}
    assert not receiver_b.ids() & expected_a
    delivered = await db["webhook_deliveries"].find({"endpoint_id": endpoint_a["id"]}).to_list()
    assert {d["status"] for d in delivered} == {"delivered"}
    retried = [d for d in delivered if d["attempt_count"] > 1]
    assert retried
    assert all(x["error"] for d in retried for x in d["attempts"][:-1])
    assert all(d["attempts"][-1]["status_code"] == 204 for d in delivered)


async def _at_least(count: Any, minimum: int) -> bool:
    return int(await count) >= minimum


async def test_an_endpoint_that_keeps_failing_is_disabled_alarmed_and_redelivered(
    services: list[ServiceContext], onboard: Any, settings: Settings, db: AsyncDatabase
) -> None:
    intake = services[0]
    partner = await onboard("Webhook partner gone dark")
    application_id = await make_application(db, partner.partner_id)
    receiver = Receiver()  # not started: nothing listens on its port
    endpoint = await register(intake, partner, receiver, events=["deadline.*"])
    async with webhooks_service(settings, webhook_disable_after_failures=3):
        event = deadline_event(
            "rectification", subject=application_id, application_id=application_id
        )
        await stage_and_relay(intake, event)

        async def disabled() -> bool:
            async with partner_api(intake, partner) as api:
                listed = (await api.get("/v1/webhooks")).json()
            return listed[0]["status"] == "disabled"

        await wait_until(disabled, timeout=30)
        async with partner_api(intake, partner) as api:
            listed = (await api.get("/v1/webhooks")).json()
        assert "3 consecutive failed deliveries" in listed[0]["disabled_reason"]
        assert "secret" not in listed[0]
        # Disabled: the next event is held, not attempted.
        later = deadline_event(
            "rectification", subject=application_id, application_id=application_id
        )
        await stage_and_relay(intake, later)
        async with (
            dashboard_server(settings) as (_, base),
            httpx.AsyncClient(base_url=base, headers=ops_headers(settings)) as ops,
        ):
            alarms = (await ops.get("/api/overview")).json()["queues"]["alarms"]
            assert any(endpoint["id"] in a["queue"] for a in alarms)
            page = await ops.get("/webhooks")
            assert endpoint["id"] in page.text
            assert "consecutive failed" in page.text
            await receiver.start()
            delivery_id = f"{endpoint['id']}:{event.id}"
            answer = await ops.post(f"/api/webhooks/deliveries/{delivery_id}/redeliver")
            assert answer.status_code == 200, answer.text
            # The redelivery succeeds, the endpoint is enabled again, and what it missed
            # while disabled follows.
            await wait_until(lambda: receiver.ids() == {event.id, later.id}, timeout=30)
        await receiver.stop()
    assert receiver.refused == []
    async with partner_api(intake, partner) as api:
        listed = (await api.get("/v1/webhooks")).json()
    assert listed[0]["status"] == "active"
    assert listed[0]["disabled_reason"] is None


async def test_a_url_into_the_operators_network_is_refused(
    services: list[ServiceContext], onboard: Any, db: AsyncDatabase
) -> None:
    intake = services[0]
    partner = await onboard("Webhook partner probing")
    async with partner_api(intake, partner) as api:
        for url in ("http://erp.example.com/hook", "https://10.0.0.5/hook", "https://[fe80::1]/x"):
            refused = await api.post("/v1/webhooks", json={"url": url})
            assert refused.status_code == 422, url
            assert refused.json()["type"].endswith("webhook_refused")
        created = await api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"})
        assert created.status_code == 201
        gone = await api.delete(f"/v1/webhooks/{created.json()['id']}")
        assert gone.status_code == 204
        assert (await api.get("/v1/webhooks")).json() == []
        assert (await api.delete(f"/v1/webhooks/{created.json()['id']}")).status_code == 404


async def test_ops_add_list_and_remove_a_partners_endpoint_from_the_cli(
    onboard: Any, settings: Settings, db: AsyncDatabase
) -> None:
    partner = await onboard("Webhook partner of ops")
    env = {
        **os.environ,
        "MONGODB_URL": settings.mongodb_url,
        "MONGODB_DB": settings.mongodb_db,
        "WEBHOOK_ALLOW_LOOPBACK": "true",
        "COLUMNS": "300",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        code = "from services.cli.webhooks import app; app()"
        return subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=60
        )

    url = "http://127.0.0.1:9/ops-hook"
    added = await asyncio.to_thread(cli, "add", partner.partner_id, url, "--event", "deadline.*")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip().splitlines()[-1].startswith("whsec_")
    stored = await db["webhook_endpoints"].find_one({"partner_id": partner.partner_id})
    assert stored is not None
    assert stored["events"] == ["deadline.*"]
    listed = await asyncio.to_thread(cli, "list", "--partner", partner.partner_id)
    assert stored["_id"] in listed.stdout
    assert "active" in listed.stdout
    refused = await asyncio.to_thread(cli, "add", partner.partner_id, "https://10.0.0.5/x")
    assert refused.returncode == 1
    assert "public addresses" in refused.stdout
    removed = await asyncio.to_thread(cli, "remove", stored["_id"])
    again = await asyncio.to_thread(cli, "remove", stored["_id"])
    assert removed.returncode == 0
    assert again.returncode == 1


def verifies(secret: str, request: tuple[bytes, dict[str, str]]) -> bool:
    try:
        Webhook(secret).verify(*request)
    except Exception:
        return False
    return True


async def deliver(
    intake: ServiceContext, receiver: Receiver, application_id: str
) -> tuple[bytes, dict[str, str]]:
    """An event for the receiver's partner, relayed; the request the receiver got for it."""
    event = deadline_event("rectification", subject=application_id, application_id=application_id)
    await stage_and_relay(intake, event)
    await wait_until(lambda: event.id in receiver.ids(), timeout=30)
    return receiver.requests[-1]


async def both_sign_then_the_new_one_alone(
    intake: ServiceContext,
    db: AsyncDatabase,
    receiver: Receiver,
    endpoint_id: str,
    application_id: str,
    *,
    old: str,
    new: str,
) -> None:
    """In the grace period both secrets verify; once it ended, the new one alone."""
    # In the grace period the receiver may switch whenever it likes: both verify.
    during = await deliver(intake, receiver, application_id)
    assert len(during[1]["webhook-signature"].split(" ")) == 2
    assert verifies(old, during)
    assert verifies(new, during)
    # The grace period ends: the new secret alone signs, the old one no longer verifies.
    await db["webhook_endpoints"].update_one(
        {"_id": endpoint_id},
        {"$set": {"previous_secret_until": datetime.now(UTC) - timedelta(seconds=1)}},
    )
    receiver.secret = new
    after = await deliver(intake, receiver, application_id)
    assert len(after[1]["webhook-signature"].split(" ")) == 1
    assert verifies(new, after)
    assert not verifies(old, after)


async def test_a_rotated_secret_signs_with_the_old_one_too_until_the_grace_period_ends(
    services: list[ServiceContext], onboard: Any, settings: Settings, db: AsyncDatabase
) -> None:
    intake = services[0]
    partner = await onboard("Webhook partner rotating")
    application_id = await make_application(db, partner.partner_id)
    receiver = Receiver()
    endpoint = await register(intake, partner, receiver, events=["deadline.*"])
    old = receiver.secret
    stored = await db["webhook_endpoints"].find_one({"_id": endpoint["id"]})
    assert stored is not None
    assert "secret" not in stored
    assert old not in str(stored)
    assert SecretBox.from_settings(settings).open(stored["secret_sealed"]) == old

    env = {
        **os.environ,
        "MONGODB_URL": settings.mongodb_url,
        "MONGODB_DB": settings.mongodb_db,
        "REGWATCH_OPS_TOKEN": settings.regwatch_ops_token,  # the key the services derive
    }
    code = "from services.cli.webhooks import app; app()"
    rotated = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", code, "rotate-secret", endpoint["id"], "--grace-hours", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    new = rotated.stdout.strip().splitlines()[-1]
    assert new.startswith("whsec_")
    assert new != old
    assert "also signs until" in rotated.stdout

    await receiver.start()
    async with webhooks_service(settings):
        await both_sign_then_the_new_one_alone(
            intake, db, receiver, endpoint["id"], application_id, old=old, new=new
        )
    await receiver.stop()
    assert receiver.refused == []
    async with partner_api(intake, partner) as api:
        listed = (await api.get("/v1/webhooks")).json()
    assert all("secret" not in key for key in listed[0])


async def test_a_partner_rotates_its_own_endpoints_secret_and_no_other_partners(
    services: list[ServiceContext], onboard: Any, settings: Settings, db: AsyncDatabase
) -> None:
    intake = services[0]
    partner, other = await onboard("Webhook partner rotating itself"), await onboard("Intruder")
    application_id = await make_application(db, partner.partner_id)
    receiver = Receiver()
    endpoint = await register(intake, partner, receiver, events=["deadline.*"])
    old = receiver.secret
    box = SecretBox.from_settings(settings)
    rotate = f"/v1/webhooks/{endpoint['id']}/rotate-secret"

    async with partner_api(intake, other) as api:
        foreign = await api.post(rotate, json={"grace_hours": 1})
    assert foreign.status_code == 404
    assert foreign.headers["content-type"].startswith("application/problem+json")
    assert foreign.json()["type"].endswith("unknown_webhook")
    stored = await db["webhook_endpoints"].find_one({"_id": endpoint["id"]})
    assert stored is not None
    assert box.open(stored["secret_sealed"]) == old
    assert "previous_secret_sealed" not in stored

    async with partner_api(intake, partner) as api:
        too_long = await api.post(rotate, json={"grace_hours": 10_000})
        unknown = await api.post("/v1/webhooks/whk_none/rotate-secret")
        before = datetime.now(UTC)
        rotated = await api.post(rotate, json={"grace_hours": 1})
        listed = (await api.get("/v1/webhooks")).json()
    assert too_long.status_code == 422
    assert unknown.status_code == 404
    assert rotated.status_code == 200, rotated.text
    answer = rotated.json()
    new = answer["secret"]
    assert new.startswith("whsec_")
    assert new != old
    assert answer["id"] == endpoint["id"]
    until = datetime.fromisoformat(answer["previous_secret_until"])
    # The answer carries what was stored: BSON dates keep milliseconds.
    assert (
        before.replace(microsecond=before.microsecond // 1000 * 1000) + timedelta(hours=1) <= until
    )
    assert until <= datetime.now(UTC) + timedelta(hours=1)
    # Shown once: never listed.
    assert listed[0]["id"] == endpoint["id"]
    assert all("secret" not in key for key in listed[0])
    stored = await db["webhook_endpoints"].find_one({"_id": endpoint["id"]})
    assert stored is not None
    assert new not in str(stored)
    assert box.open(stored["secret_sealed"]) == new
    assert box.open(stored["previous_secret_sealed"]) == old

    await receiver.start()
    async with webhooks_service(settings):
        await both_sign_then_the_new_one_alone(
            intake, db, receiver, endpoint["id"], application_id, old=old, new=new
        )
    await receiver.stop()
    assert receiver.refused == []

    # Without a body, the configured grace period applies.
    async with partner_api(intake, partner) as api:
        before = datetime.now(UTC)
        again = await api.post(rotate)
    assert again.status_code == 200, again.text
    grace = timedelta(hours=settings.webhook_secret_grace_hours)
    floor = before.replace(microsecond=before.microsecond // 1000 * 1000) + grace
    assert datetime.fromisoformat(again.json()["previous_secret_until"]) >= floor
    assert again.json()["secret"] not in (old, new)


async def test_secrets_in_plain_text_or_under_an_old_key_are_sealed_with_the_first_key_at_start(
    services: list[ServiceContext], onboard: Any, settings: Settings, db: AsyncDatabase
) -> None:
    intake = services[0]
    partner = await onboard("Webhook partner from before sealing")
    application_id = await make_application(db, partner.partner_id)
    plain, old_key = Receiver(), Receiver()
    old_box = SecretBox.from_settings(settings)  # the key the endpoints were sealed with
    for receiver in (plain, old_key):
        receiver.secret = generate_secret()
    stored = {
        plain: {"secret": plain.secret},  # as endpoints were stored before sealing
        old_key: {"secret_sealed": old_box.seal(old_key.secret)},
    }
    for receiver, secret in stored.items():
        await db["webhook_endpoints"].insert_one(
            {
                "_id": f"whk_{uuid.uuid4().hex[:12]}",
                "partner_id": partner.partner_id,
                "url": receiver.url,
                "events": ["deadline.*"],
                "status": "active",
                "created_at": datetime.now(UTC),
                **secret,
            }
        )
        await receiver.start()
    new_key = Fernet.generate_key()
    keys = f"{new_key.decode()},{derived_key(settings.regwatch_ops_token).decode()}"
    async with webhooks_service(settings, webhook_secret_keys=keys):
        found = await db["webhook_endpoints"].find({"partner_id": partner.partner_id}).to_list()
        assert all("secret" not in endpoint for endpoint in found)
        new_box = SecretBox([new_key])  # the first key alone opens every one now
        assert {new_box.open(e["secret_sealed"]) for e in found} == {plain.secret, old_key.secret}
        event = deadline_event(
            "rectification", subject=application_id, application_id=application_id
        )
        await stage_and_relay(intake, event)
        for receiver in (plain, old_key):
            await wait_until(lambda r=receiver: event.id in r.ids(), timeout=30)
    for receiver in (plain, old_key):
        await receiver.stop()
        assert receiver.refused == []


class _ReadThenRival:
    """A database whose endpoint read returns only after a rival rotation has committed:
    two rotations at once, the second reading before the first writes."""

    def __init__(self, db: AsyncDatabase, rival: Any) -> None:
        self._db, self._rival = db, rival

    def __getitem__(self, name: str) -> Any:
        return _RacedCollection(self._db[name], self._rival)


class _RacedCollection:
    def __init__(self, collection: Any, rival: Any) -> None:
        self._collection, self._rival = collection, rival

    async def find_one(self, *args: Any, **kwargs: Any) -> Any:
        found = await self._collection.find_one(*args, **kwargs)
        await self._rival()
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)


async def test_of_two_rotations_at_once_one_wins_and_the_other_is_told_to_try_again(
    services: list[ServiceContext], onboard: Any, settings: Settings, db: AsyncDatabase
) -> None:
    partner = await onboard("Webhook partner rotating twice at once")
    receiver = Receiver()
    endpoint = await register(services[0], partner, receiver, events=["deadline.*"])
    box, now, grace = SecretBox.from_settings(settings), datetime.now(UTC), timedelta(hours=1)
    won: list[str] = []

    async def rival() -> None:
        _, secret = await webhook_secrets.rotate_secret(
            db, endpoint_id=endpoint["id"], box=box, now=now, grace=grace
        )
        won.append(secret)

    with pytest.raises(webhook_secrets.RotationRaced, match="try again"):
        await webhook_secrets.rotate_secret(
            _ReadThenRival(db, rival),  # type: ignore[arg-type]
            endpoint_id=endpoint["id"],
            box=box,
            now=now,
            grace=grace,
        )
    # The rival's rotation stands whole: its secret signs, the original one for the grace.
    stored = await db["webhook_endpoints"].find_one({"_id": endpoint["id"]})
    assert stored is not None
    assert box.open(stored["secret_sealed"]) == won[0]
    assert box.open(stored["previous_secret_sealed"]) == receiver.secret
    # Tried again, it rotates from the rival's secret.
    _, again = await webhook_secrets.rotate_secret(
        db, endpoint_id=endpoint["id"], box=box, now=now, grace=grace
    )
    stored = await db["webhook_endpoints"].find_one({"_id": endpoint["id"]})
    assert stored is not None
    assert box.open(stored["secret_sealed"]) == again
    assert box.open(stored["previous_secret_sealed"]) == won[0]


async def test_a_rotation_raced_over_http_is_answered_409_and_changes_nothing(
    services: list[ServiceContext],
    onboard: Any,
    settings: Settings,
    db: AsyncDatabase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The partner's rotation reads the endpoint, and before it writes, another replica's
    rotation (a client of its own, in a thread of its own) lands: the partner is told to
    try again, and trying again rotates from the secret that won."""
    partner = await onboard("Webhook partner raced over HTTP")
    receiver = Receiver()
    endpoint = await register(services[0], partner, receiver, events=["deadline.*"])
    box = SecretBox.from_settings(settings)
    won: list[str] = []

    async def rotation_of_another_replica() -> str:
        client = mongo.connect(settings)
        try:
            _, secret = await webhook_secrets.rotate_secret(
                mongo.database(client, settings),
                endpoint_id=endpoint["id"],
                box=box,
                now=datetime.now(UTC),
                grace=timedelta(hours=1),
            )
        finally:
            await client.close()
        return secret

    def new_secret_once_another_rotation_landed() -> str:
        # The partner's rotation makes its new secret between its read and its write.
        monkeypatch.setattr(webhook_secrets, "generate_secret", generate_secret)  # once
        with ThreadPoolExecutor(max_workers=1) as replica:
            won.append(replica.submit(asyncio.run, rotation_of_another_replica()).result())
        return generate_secret()

    monkeypatch.setattr(webhook_secrets, "generate_secret", new_secret_once_another_rotation_landed)
    rotate = f"/v1/webhooks/{endpoint['id']}/rotate-secret"
    async with partner_api(services[0], partner) as api:
        raced = await api.post(rotate, json={"grace_hours": 1})
    assert raced.status_code == 409, raced.text
    assert raced.headers["content-type"].startswith("application/problem+json")
    detail = f"Webhook endpoint {endpoint['id']} changed while rotating its secret: try again."
    assert raced.json() == {
        "type": "urn:regwatch:problem:rotation_conflict",
        "title": "Rotation conflict",
        "status": 409,
        "detail": detail,
        "instance": rotate,
        "errors": [{"code": "rotation_conflict", "message": detail}],
    }
    assert "whsec_" not in raced.text  # no secret was given out
    # The other replica's rotation stands whole; the raced one changed nothing.
    stored = await db["webhook_endpoints"].find_one({"_id": endpoint["id"]})
    assert stored is not None
    assert box.open(stored["secret_sealed"]) == won[0]
    assert box.open(stored["previous_secret_sealed"]) == receiver.secret

    async with partner_api(services[0], partner) as api:
        again = await api.post(rotate, json={"grace_hours": 1})
    assert again.status_code == 200, again.text
    stored = await db["webhook_endpoints"].find_one({"_id": endpoint["id"]})
    assert stored is not None
    assert box.open(stored["secret_sealed"]) == again.json()["secret"]
    assert box.open(stored["previous_secret_sealed"]) == won[0]
