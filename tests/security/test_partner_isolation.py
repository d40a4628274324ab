"""Partner isolation: a second partner's applications, documents, registrations, deadlines
and webhooks are seeded, and nothing of them shows through any endpoint, filter, page or
id of the first partner; another partner's id is answered exactly like a missing one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from services.intake import app as intake_app
from services.intake.http import create_http_app
from shared.app.partners import issue_api_key, new_partner, save_partner
from shared.domain.deadlines import Deadline
from shared.domain.models import new_id
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from tests.support import sample_pdf

pytestmark = pytest.mark.asyncio(loop_scope="session")

EXPORTER = {"name": "Fjord Dairy AS", "country": "NO", "contact_emails": ["export@fjord.example"]}
OTHER_EXPORTER = {
    "name": "Secret Rival Foods",
    "country": "DK",
    "contact_emails": ["hidden@rival.example"],
}


@dataclass
class Partner:
    client: httpx.AsyncClient
    application_ids: list[str]
    document_ids: list[str]
    webhook_ids: list[str]
    secrets: list[str]  # strings only this partner's data contains


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def intake(settings: Settings, db: AsyncDatabase) -> AsyncIterator[ServiceContext]:
    ctx = await intake_app.start(settings)
    yield ctx
    await ctx.close()


async def seeded_partner(
    ctx: ServiceContext, db: AsyncDatabase, exporter: dict[str, object], marker: str
) -> Partner:
    """A partner with two applications, a document each, a registration obtained through
    the first, open deadlines on both, and a webhook: all through its own API key."""
    partner = new_partner(name=f"Partner {marker}", now=datetime.now(UTC))
    await save_partner(db, partner=partner)
    partner_id = partner.id
    key = await issue_api_key(db, partner_id=partner_id, now=datetime.now(UTC))
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_http_app(ctx)),
        base_url="http://intake.test",
        headers={"Authorization": f"Bearer {key}"},
    )
    applications, documents = [], []
    for _ in range(2):
        created = await client.post(
            "/v1/applications",
            json={
                "exporter": exporter,
                "category": "food.dairy",
                "product": "milk_powder",
                "kind": "new",
            },
        )
        assert created.status_code == 201, created.text
        applications.append(created.json()["id"])
        uploaded = await client.post(
            f"/v1/applications/{applications[-1]}/documents",
            files={
                "file": (f"{marker}.pdf", sample_pdf(f"{marker} {uuid.uuid4()}"), "application/pdf")
            },
            data={"document_type": "application_form"},
        )
        assert uploaded.status_code == 201, uploaded.text
        documents.append(uploaded.json()["document"]["id"])
    number = f"REG-{marker}-{uuid.uuid4().hex[:6]}"
    registration_id = new_id("reg")
    await db["registrations"].insert_one(
        {"_id": registration_id, "number": number, "terms": {"application_id": applications[0]}}
    )
    now = datetime.now(UTC)
    for kind, subject, fields in [
        ("additional_materials", applications[1], {"application_id": applications[1]}),
        ("renewal", number, {"registration_id": registration_id, "registration_number": number}),
    ]:
        deadline = Deadline(
            _id=new_id("dl"),
            kind=kind,
            subject=subject,
            due_at=now + timedelta(days=30),
            opened_at=now,
            exporter_name=str(exporter["name"]),
            **fields,
        )
        await db["deadlines"].insert_one(deadline.to_mongo())
    webhook = await client.post(
        "/v1/webhooks", json={"url": f"http://127.0.0.1:9/{marker}", "events": []}
    )
    assert webhook.status_code == 201, webhook.text
    secrets = [*applications, *documents, number, registration_id, marker, webhook.json()["id"]]
    return Partner(client, applications, documents, [webhook.json()["id"]], secrets)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def partners(
    intake: ServiceContext, db: AsyncDatabase
) -> AsyncIterator[tuple[Partner, Partner]]:
    mine = await seeded_partner(intake, db, EXPORTER, f"mine{uuid.uuid4().hex[:6]}")
    other = await seeded_partner(intake, db, OTHER_EXPORTER, f"other{uuid.uuid4().hex[:6]}")
    other.secrets.append(str(OTHER_EXPORTER["name"]))
    yield mine, other
    await mine.client.aclose()
    await other.client.aclose()


def assert_nothing_of(other: Partner, response: httpx.Response) -> None:
    text = response.text.replace(response.request.url.path, "")  # the request, echoed
    leaked = [secret for secret in other.secrets if secret in text]
    assert not leaked, (response.request.url, leaked)


LIST_QUERIES = [
    "",
    "?status=received",
    "?category=food.dairy",
    "?page=1&page_size=200",
    "?page=2&page_size=1",
    "?page=3&page_size=1",
    "?page=1000000&page_size=200",
    "?partner_id={other_partner}",
    "?status[$ne]=x",
    '?category={"$ne": null}',
]


async def test_lists_filters_and_pages_show_only_my_applications(
    partners: tuple[Partner, Partner], db: AsyncDatabase
) -> None:
    mine, other = partners
    other_partner = (await db["applications"].find_one({"_id": other.application_ids[0]}))[
        "partner_id"
    ]
    seen: set[str] = set()
    for query in LIST_QUERIES:
        response = await mine.client.get(
            "/v1/applications" + query.replace("{other_partner}", other_partner)
        )
        assert response.status_code in (200, 422), response.text
        assert_nothing_of(other, response)
        if response.status_code == 200:
            seen |= {item["id"] for item in response.json()["items"]}
    assert set(mine.application_ids) <= seen


async def test_the_other_partners_ids_are_answered_exactly_like_missing_ones(
    partners: tuple[Partner, Partner],
) -> None:
    mine, other = partners
    pairs = [
        (f"/v1/applications/{other.application_ids[0]}", "/v1/applications/app_missing"),
        (f"/v1/documents/{other.document_ids[0]}", "/v1/documents/doc_missing"),
        (f"/v1/documents/{other.document_ids[0]}/content", "/v1/documents/doc_missing/content"),
    ]
    for theirs, missing in pairs:
        a, b = await mine.client.get(theirs), await mine.client.get(missing)
        assert a.status_code == b.status_code == 404
        assert a.json()["type"] == b.json()["type"]
        assert a.json()["detail"].replace(other.application_ids[0], "X").replace(
            other.document_ids[0], "X"
        ) == b.json()["detail"].replace("app_missing", "X").replace("doc_missing", "X")
    upload = await mine.client.post(
        f"/v1/applications/{other.application_ids[0]}/documents",
        files={"file": ("x.pdf", sample_pdf(f"into theirs {uuid.uuid4()}"), "application/pdf")},
        data={"document_type": "application_form"},
    )
    assert upload.status_code == 404
    assert upload.json()["type"].endswith("unknown_application")
    deleted = await mine.client.delete(f"/v1/webhooks/{other.webhook_ids[0]}")
    missing = await mine.client.delete("/v1/webhooks/wh_missing")
    assert deleted.status_code == missing.status_code == 404
    assert (await other.client.get("/v1/webhooks")).json()[0]["id"] == other.webhook_ids[0]


async def test_documents_content_calendar_and_webhooks_show_only_mine(
    partners: tuple[Partner, Partner],
) -> None:
    mine, other = partners
    for document_id in mine.document_ids:
        for path in (f"/v1/documents/{document_id}", f"/v1/documents/{document_id}/content"):
            response = await mine.client.get(path)
            assert response.status_code == 200
            assert_nothing_of(other, response)
    for application_id in mine.application_ids:
        response = await mine.client.get(f"/v1/applications/{application_id}")
        assert response.status_code == 200
        assert_nothing_of(other, response)
    calendar = await mine.client.get("/v1/calendar.ics")
    assert calendar.status_code == 200
    assert_nothing_of(other, calendar)
    # Both feeds hold their own deadlines: the absence above is isolation, not emptiness.
    assert str(EXPORTER["name"]) in calendar.text
    theirs = await other.client.get("/v1/calendar.ics")
    assert str(OTHER_EXPORTER["name"]) in theirs.text
    assert other.secrets[4] in theirs.text
    webhooks = await mine.client.get("/v1/webhooks")
    assert [w["id"] for w in webhooks.json()] == mine.webhook_ids
    assert_nothing_of(other, webhooks)


async def test_ops_only_registration_endpoints_refuse_a_partner_key(
    partners: tuple[Partner, Partner],
) -> None:
    mine, other = partners
    for path in ("/v1/registrations", f"/v1/registrations/{other.secrets[4]}"):
        response = await mine.client.get(path)
        assert response.status_code in (401, 403), response.text
        assert_nothing_of(other, response)


async def test_without_an_api_key_no_parameter_reveals_anything(
    partners: tuple[Partner, Partner],
) -> None:
    _, other = partners
    transport = other.client._transport  # the same app, without any credentials
    async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as anonymous:
        for path in ("/v1/applications", "/v1/calendar.ics", "/v1/webhooks"):
            response = await anonymous.get(path, params={"api_key": "x", "partner_id": "x"})
            assert response.status_code == 401
            assert_nothing_of(other, response)
