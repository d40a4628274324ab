"""Partners with real RabbitMQ users (management API, test vhost): what their permissions
allow and refuse, a forged user_id refused by the broker, isolation between partners over
AMQP, revocation, the ``regwatch partners`` CLI and the example partner script."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import aiormq.exceptions
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractChannel
from aio_pika.exceptions import ProbableAuthenticationError
from pymongo.asynchronous.database import AsyncDatabase

from services.intake import app as intake_app
from shared.app.onboarding import PartnerCredentials, offboard_partner
from shared.app.partners import partner_for_api_key, revoke_partner
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from shared.infra.topology import (
    EVENTS_EXCHANGE,
    INTAKE_DOCUMENTS,
    INTAKE_EXCHANGE,
    SUBMIT_ROUTING_KEY,
)
from tests.factories import make_application
from tests.support import next_message, sample_pdf

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[2]
REFUSED = (aiormq.exceptions.ChannelAccessRefused, aiormq.exceptions.ChannelNotFoundEntity)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def intake(settings: Settings, db: AsyncDatabase) -> AsyncIterator[ServiceContext]:
    ctx = await intake_app.start(settings)
    yield ctx
    await ctx.close()


async def publish(
    channel: AbstractChannel,
    body: bytes,
    *,
    user_id: str,
    application_id: str,
    reply_to: str | None = None,
    exchange: str = INTAKE_EXCHANGE.name,
) -> None:
    target = await channel.get_exchange(exchange, ensure=False)
    await target.publish(
        aio_pika.Message(
            body,
            message_id=str(uuid.uuid4()),
            content_type="application/pdf",
            user_id=user_id,
            reply_to=reply_to,
            correlation_id=str(uuid.uuid4()),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers={
                "x-application-id": application_id,
                "x-document-type": "business_licence",
                "x-filename": "licence.pdf",
            },
        ),
        routing_key=SUBMIT_ROUTING_KEY,
    )


async def refused(settings: Settings, partner: PartnerCredentials, action: Any) -> Exception:
    """Run ``action(channel)`` as the partner; return the broker's refusal."""
    connection = await aio_pika.connect(partner.amqp_url(settings.amqp_url))
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        with pytest.raises(REFUSED) as caught:
            await action(channel)
        return caught.value


async def test_partner_submits_with_its_own_user_and_reads_its_reply(
    intake: ServiceContext, onboard: Any, settings: Settings, db: AsyncDatabase
) -> None:
    partner = await onboard("Own user partner")
    application_id = await make_application(db, partner.partner_id)
    connection = await aio_pika.connect(partner.amqp_url(settings.amqp_url))
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        replies = await channel.declare_queue(
            f"partner.{partner.amqp_user}.replies", exclusive=True
        )
        body = sample_pdf(f"own {uuid.uuid4()}")
        await publish(
            channel,
            body,
            user_id=partner.amqp_user,
            application_id=application_id,
            reply_to=replies.name,
        )
        answer = json.loads((await next_message(replies)).body)
    assert answer["status"] == "accepted"
    document = await db["documents"].find_one({"_id": answer["document_id"]})
    assert document["partner_id"] == partner.partner_id


async def test_partner_user_cannot_read_the_intake_queue(
    intake: ServiceContext, onboard: Any, settings: Settings
) -> None:
    partner = await onboard("Curious partner")

    async def read_intake_queue(channel: AbstractChannel) -> None:
        queue = await channel.get_queue(INTAKE_DOCUMENTS.name, ensure=False)
        await queue.get(fail=False)

    error = await refused(settings, partner, read_intake_queue)
    assert "ACCESS_REFUSED" in str(error)


async def test_partner_user_cannot_publish_events(
    intake: ServiceContext, onboard: Any, settings: Settings
) -> None:
    partner = await onboard("Forger of events")

    async def publish_event(channel: AbstractChannel) -> None:
        await publish(
            channel,
            b"{}",
            user_id=partner.amqp_user,
            application_id="app_x",
            exchange=EVENTS_EXCHANGE.name,
        )

    error = await refused(settings, partner, publish_event)
    assert "ACCESS_REFUSED" in str(error)


# None: a server-named queue (amq.gen-...), which the prefix rule refuses as well.
@pytest.mark.parametrize("name", ["regwatch.sneaky", "partner.ptn_other.replies", None])
async def test_partner_user_cannot_declare_queues_outside_its_prefix(
    intake: ServiceContext, onboard: Any, settings: Settings, name: str | None
) -> None:
    partner = await onboard("Queue squatter")

    async def declare(channel: AbstractChannel) -> None:
        await channel.declare_queue(name, exclusive=True)

    error = await refused(settings, partner, declare)
    assert "ACCESS_REFUSED" in str(error)


async def test_partner_user_cannot_bind_its_queue_to_the_events(
    intake: ServiceContext, onboard: Any, settings: Settings
) -> None:
    partner = await onboard("Eavesdropper")

    async def bind_to_events(channel: AbstractChannel) -> None:
        queue = await channel.declare_queue(f"partner.{partner.amqp_user}.tap", exclusive=True)
        await queue.bind(EVENTS_EXCHANGE.name, routing_key="#")

    error = await refused(settings, partner, bind_to_events)
    assert "ACCESS_REFUSED" in str(error)


async def test_forged_user_id_is_refused_by_the_broker(
    intake: ServiceContext, onboard: Any, settings: Settings, db: AsyncDatabase
) -> None:
    victim = await onboard("Victim")
    forger = await onboard("Forger")
    application_id = await make_application(db, victim.partner_id)
    connection = await aio_pika.connect(forger.amqp_url(settings.amqp_url))
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed) as caught:
            await publish(
                channel,
                sample_pdf("forged"),
                user_id=victim.amqp_user,
                application_id=application_id,
            )
    assert "user_id" in str(caught.value)
    await asyncio.sleep(0.5)
    assert await db["documents"].count_documents({"application_id": application_id}) == 0


async def test_partner_cannot_submit_to_another_partners_application(
    intake: ServiceContext, onboard: Any, settings: Settings, db: AsyncDatabase
) -> None:
    owner = await onboard("Owner")
    intruder = await onboard("Intruder")
    application_id = await make_application(db, owner.partner_id)
    connection = await aio_pika.connect(intruder.amqp_url(settings.amqp_url))
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        replies = await channel.declare_queue(f"partner.{intruder.amqp_user}.r", exclusive=True)
        await publish(
            channel,
            sample_pdf(f"intrusion {uuid.uuid4()}"),
            user_id=intruder.amqp_user,
            application_id=application_id,
            reply_to=replies.name,
        )
        answer = json.loads((await next_message(replies)).body)
    assert answer["status"] == "rejected"
    assert [e["code"] for e in answer["errors"]] == ["unknown_application"]
    assert await db["documents"].count_documents({"application_id": application_id}) == 0


async def test_revoked_partner_loses_api_key_and_rabbitmq_user(
    intake: ServiceContext, onboard: Any, settings: Settings, db: AsyncDatabase
) -> None:
    partner = await onboard("Leaving partner")
    assert (await partner_for_api_key(db, partner.api_key)) is not None
    await offboard_partner(
        db=db, settings=settings, partner_id=partner.partner_id, now=datetime.now(UTC)
    )
    assert await partner_for_api_key(db, partner.api_key) is None
    with pytest.raises(ProbableAuthenticationError):
        await aio_pika.connect(partner.amqp_url(settings.amqp_url))


async def test_revoked_partner_whose_user_still_exists_is_refused(
    intake: ServiceContext, onboard: Any, settings: Settings, db: AsyncDatabase
) -> None:
    partner = await onboard("Revoked in regwatch only")
    application_id = await make_application(db, partner.partner_id)
    await revoke_partner(db, partner_id=partner.partner_id, now=datetime.now(UTC))
    connection = await aio_pika.connect(partner.amqp_url(settings.amqp_url))
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        replies = await channel.declare_queue(f"partner.{partner.amqp_user}.r", exclusive=True)
        await publish(
            channel,
            sample_pdf(f"late {uuid.uuid4()}"),
            user_id=partner.amqp_user,
            application_id=application_id,
            reply_to=replies.name,
        )
        answer = json.loads((await next_message(replies)).body)
    assert [e["code"] for e in answer["errors"]] == ["unknown_partner"]
    assert await db["documents"].count_documents({"application_id": application_id}) == 0


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AMQP_URL": settings.amqp_url,
        "MONGODB_URL": settings.mongodb_url,
        "MONGODB_DB": settings.mongodb_db,
        "RABBITMQ_MANAGEMENT_URL": settings.rabbitmq_management_url,
        "COLUMNS": "200",  # rich tables fit the terminal; give ids room
    }
    # The partners command group alone, so a half-finished other group cannot break this test.
    code = "from services.cli.partners import app; app()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


async def test_cli_adds_lists_and_revokes_a_partner(
    intake: ServiceContext, settings: Settings, db: AsyncDatabase
) -> None:
    name = f"CLI partner {uuid.uuid4().hex[:6]}"
    added = await asyncio.to_thread(run_cli, settings, "add", name, "--json")
    assert added.returncode == 0, added.stderr
    credentials = json.loads(added.stdout)
    assert set(credentials) == {
        "partner_id",
        "api_key",
        "amqp_user",
        "amqp_password",
        "events_queue",
    }
    key = await db["api_keys"].find_one({"partner_id": credentials["partner_id"]})
    assert key is not None
    assert credentials["api_key"] not in json.dumps(key, default=str)
    connection = await aio_pika.connect(
        PartnerCredentials.model_validate(credentials).amqp_url(settings.amqp_url)
    )
    await connection.close()

    listed = await asyncio.to_thread(run_cli, settings, "list")
    revoked = await asyncio.to_thread(run_cli, settings, "revoke", credentials["partner_id"])
    unknown = await asyncio.to_thread(run_cli, settings, "revoke", "ptn_nobody")
    assert listed.returncode == 0
    assert credentials["partner_id"] in listed.stdout
    assert revoked.returncode == 0, revoked.stderr
    assert unknown.returncode == 1
    assert "no partner ptn_nobody" in unknown.stdout
    partner = await db["partners"].find_one({"_id": credentials["partner_id"]})
    assert partner["revoked"] is True


async def test_example_script_submits_a_document(
    intake: ServiceContext, onboard: Any, settings: Settings, db: AsyncDatabase, tmp_path: Path
) -> None:
    partner = await onboard("Example user")
    application_id = await make_application(db, partner.partner_id)
    document = tmp_path / "business licence.pdf"
    document.write_bytes(sample_pdf(f"example {uuid.uuid4()}"))
    command = [
        sys.executable,
        str(ROOT / "examples" / "partner_submit.py"),
        str(document),
        "--amqp-url",
        partner.amqp_url(settings.amqp_url),
        "--application-id",
        application_id,
        "--document-type",
        "business_licence",
        "--meta",
        json.dumps({"language": "en"}),
        "--message-id",
        "example-1",
    ]
    first = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=60
    )
    again = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=60
    )
    assert first.returncode == 0, first.stderr
    answers = json.loads(first.stdout), json.loads(again.stdout)
    assert [a["status"] for a in answers] == ["accepted", "duplicate"]
    stored = await db["documents"].find_one({"_id": answers[0]["document_id"]})
    assert stored["filename"] == "business licence.pdf"
    assert stored["idempotency_key"] == "example-1"
    assert stored["metadata"] == {"language": "en"}
