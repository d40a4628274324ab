"""The reader through the real broker: a document in, document.read out, facts stored,
the validator's verdict updated with the content rules, the partner told what is read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.http import create_http_app
from shared.app.partners import issue_api_key, new_partner, save_partner
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from tests import reader_files as files
from tests.support import EventTap, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")

EXPORTER = {"name": "ACME Foods Ltd", "country": "NZ", "contact_emails": ["export@acme.example"]}


async def upload(
    client: httpx.AsyncClient,
    application_id: str,
    body: bytes,
    document_type: str,
    metadata: dict[str, Any],
) -> str:
    response = await client.post(
        f"/v1/applications/{application_id}/documents",
        files={"file": (f"{document_type}.pdf", body, "application/pdf")},
        data={"document_type": document_type, "metadata": json.dumps(metadata)},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["document"]["id"])


async def test_documents_are_read_and_the_verdict_follows_their_facts(
    reading_settings: Settings, db: AsyncDatabase, reading_services: dict[str, ServiceContext]
) -> None:
    now = datetime.now(UTC)
    partner = new_partner(name="Reader partner", now=now)
    await save_partner(db, partner=partner)
    key = await issue_api_key(db, partner_id=partner.id, now=now)
    transport = httpx.ASGITransport(app=create_http_app(reading_services["intake"]))
    async with (
        httpx.AsyncClient(
            transport=transport,
            base_url="http://intake.test",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        ) as client,
        EventTap(reading_settings.amqp_url) as tap,
    ):
        created = await client.post(
            "/v1/applications",
            json={"exporter": EXPORTER, "category": "food.other", "kind": "new"},
        )
        assert created.status_code == 201, created.text
        application_id = created.json()["id"]
        ids = [
            await upload(
                client,
                application_id,
                files.text_pdf(["申请表", "ACME Foods Ltd 出口食品生产企业注册申请"], chinese=True),
                "application_form",
                {"language": "zh"},
            ),
            await upload(
                client,
                application_id,
                # A scan (no text layer) whose text says it expired long ago: advice.
                files.scan_pdf(["Business Licence", "ACME Foods Ltd", "Valid until 1 March 2019"]),
                "business_licence",
                {"language": "en", "expiry_date": "2030-03-01"},
            ),
            await upload(
                client,
                application_id,
                files.text_pdf(["Declaration of compliance", "ACME Foods Ltd declares ..."]),
                "compliance_declaration",
                {"language": "en"},
            ),
        ]
        read = await tap.wait_for(
            "document.read", count=3, timeout=120, application_id=application_id
        )

        async def latest() -> dict[str, Any]:
            results = db["validation_results"].find({"application_id": application_id})
            return max(await results.to_list(), key=lambda r: r["evaluated_at"])

        async def all_facts_used() -> bool:
            return sorted((await latest()).get("facts_used", [])) == sorted(ids)

        await wait_until(all_facts_used, timeout=30)
        detail = (await client.get(f"/v1/applications/{application_id}")).json()

    assert {e["data"]["document_id"] for e in read} == set(ids)
    assert all(e["data"]["status"] == "read" for e in read)
    facts = {
        f["_id"]: f async for f in db["document_facts"].find({"application_id": application_id})
    }
    assert set(facts) == set(ids)
    assert facts[ids[0]]["language"] == "zh"
    assert facts[ids[1]]["ocr_pages"] == [1]

    result = await latest()
    assert result["verdict"] == "complete"
    assert result["reading"] == []
    advice = result["warnings"]
    assert any("reads 'Valid until 1 March 2019'" in w for w in advice), advice
    assert detail["reading"] == 0
    assert detail["validation"]["verdict"] == "complete"
    # Before the facts came, an evaluation waited for them and was not complete.
    waited = await db["validation_results"].find_one(
        {"application_id": application_id, "reading": {"$ne": []}}
    )
    assert waited is not None
    assert waited["verdict"] == "incomplete"
    application = await db["applications"].find_one({"_id": application_id})
    assert application["status"] != "submitted"  # complete documents moved it on
