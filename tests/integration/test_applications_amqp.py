"""Applications over AMQP (``application.create``): created once per message id, refused with
the HTTP API's error codes, and an AMQP-only partner follows its application to a verdict."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.app.onboarding import PartnerCredentials
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from shared.infra.topology import CREATE_APPLICATION_ROUTING_KEY, INTAKE_EXCHANGE
from tests.integration.partner_support import client_for
from tests.support import next_message, sample_pdf

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[2]
DAIRY = {
    "exporter": {"name": "Fjord Dairy AS", "country": "NO", "contact_emails": []},
    "category": "food.dairy",
    "product": "milk_powder",
    "kind": "new",
}


async def create(
    settings: Settings, partner: PartnerCredentials, body: bytes, message_id: str | None
) -> dict[str, Any]:
    connection = await aio_pika.connect(partner.amqp_url(settings.amqp_url))
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        replies = await channel.declare_queue(f"partner.{partner.amqp_user}.r", exclusive=True)
        exchange = await channel.get_exchange(INTAKE_EXCHANGE.name, ensure=False)
        await exchange.publish(
            aio_pika.Message(
                body,
                message_id=message_id,
                content_type="application/json",
                user_id=partner.amqp_user,
                reply_to=replies.name,
                correlation_id=str(uuid.uuid4()),
            ),
            routing_key=CREATE_APPLICATION_ROUTING_KEY,
        )
        return dict(json.loads((await next_message(replies)).body))


async def test_an_application_is_created_once_per_message_id(
    services: list[ServiceContext], onboard: Any, settings: Settings, db: AsyncDatabase
) -> None:
    partner = await onboard("AMQP creator")
    body = json.dumps(DAIRY).encode()
    first = await create(settings, partner, body, "create-1")
    again = await create(settings, partner, body, "create-1")
    other = await create(settings, partner, body, "create-2")
    assert (first["status"], again["status"], other["status"]) == (
        "created",
        "duplicate",
        "created",
    )
    assert first["application_id"] == again["application_id"] != other["application_id"]
    assert first["errors"] == []
    stored = await db["applications"].find_one({"_id": first["application_id"]})
    assert stored["partner_id"] == partner.partner_id
    assert stored["status"] == "submitted"
    assert stored["history"][0]["channel"] == "amqp", "its history says how it came in"
    assert await db["applications"].count_documents({"partner_id": partner.partner_id}) == 2


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**DAIRY, "category": "food.unknown"}, "unknown_category"),
        ({**DAIRY, "product": "caviar"}, "unknown_product"),
        ({**DAIRY, "kind": "renewal"}, "invalid_request"),
        ({**DAIRY, "surprise": 1}, "invalid_request"),
    ],
)
async def test_a_refused_application_gets_the_http_apis_error_codes(
    services: list[ServiceContext],
    onboard: Any,
    settings: Settings,
    body: dict[str, Any],
    code: str,
) -> None:
    partner = await onboard("AMQP refused")
    answer = await create(settings, partner, json.dumps(body).encode(), str(uuid.uuid4()))
    async with client_for(services[0], partner.api_key) as client:
        response = await client.post("/v1/applications", json=body)
    assert answer["status"] == "rejected"
    assert answer["application_id"] is None
    assert {e["code"] for e in answer["errors"]} == {code}
    assert {e["code"] for e in response.json()["errors"]} == {code}


async def test_a_body_that_is_not_json_is_rejected_with_its_reason(
    services: list[ServiceContext], onboard: Any, settings: Settings
) -> None:
    partner = await onboard("AMQP malformed")
    answer = await create(settings, partner, b"{not json", "m-1")
    assert answer["status"] == "rejected"
    assert [e["code"] for e in answer["errors"]] == ["invalid_request"]
    assert "JSON" in answer["errors"][0]["message"]


async def test_an_amqp_only_partner_creates_an_application_and_follows_it_to_a_verdict(
    services: list[ServiceContext], onboard: Any, settings: Settings, tmp_path: Path
) -> None:
    partner = await onboard("AMQP only")
    licence, form = tmp_path / "licence.pdf", tmp_path / "form.pdf"
    licence.write_bytes(sample_pdf(f"licence {uuid.uuid4()}"))
    form.write_bytes(sample_pdf(f"form {uuid.uuid4()}"))
    command = [
        sys.executable,
        str(ROOT / "examples" / "partner_submit.py"),
        f"business_licence={licence}",
        f"application_form={form}",
        "--amqp-url",
        partner.amqp_url(settings.amqp_url),
        "--create",
        json.dumps(DAIRY),
        "--wait-verdict",
        "--meta",
        json.dumps({"language": "en"}),
    ]
    done = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    application_id = output["application"]["application_id"]
    assert output["application"]["status"] == "created"
    assert [d["status"] for d in output["documents"]] == ["accepted", "accepted"]
    verdict = output["verdict"]
    assert verdict["type"] == "application.validated"
    assert verdict["data"]["application_id"] == application_id
    assert verdict["data"]["verdict"] in ("complete", "incomplete", "refused")
    assert "business_licence" not in verdict["data"]["missing"]
