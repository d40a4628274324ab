"""The partner HTTP API against the real broker and database: applications, uploads,
every edge check as problem+json, idempotency, large and concurrent uploads, isolation."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import AutoReconnect
from pypdf import PdfWriter

from services.intake import app as intake_app
from services.intake.blobs import IN_TRANSACTION_BYTES
from services.intake.http import partner_api
from shared.app.partners import issue_api_key, new_partner, save_partner
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from tests.integration.partner_support import client_for
from tests.support import EventTap, sample_image, sample_pdf

pytestmark = pytest.mark.asyncio(loop_scope="session")

EXPORTER = {
    "name": "Fjord Dairy AS",
    "country": "NO",
    "home_registration_number": "NO-1234",
    "contact_emails": ["export@fjorddairy.example"],
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def intake(settings: Settings, db: AsyncDatabase) -> AsyncIterator[ServiceContext]:
    ctx = await intake_app.start(settings)
    yield ctx
    await ctx.close()


async def new_api_partner(db: AsyncDatabase, name: str = "HTTP partner") -> tuple[str, str]:
    now = datetime.now(UTC)
    partner = new_partner(name=name, now=now)
    await save_partner(db, partner=partner)
    return partner.id, await issue_api_key(db, partner_id=partner.id, now=now)


@pytest_asyncio.fixture(loop_scope="session")
async def partner(db: AsyncDatabase) -> tuple[str, str]:
    return await new_api_partner(db)


async def create_application(client: httpx.AsyncClient, **fields: Any) -> str:
    body = {"exporter": EXPORTER, "category": "food.dairy", "product": "milk_powder", "kind": "new"}
    response = await client.post("/v1/applications", json={**body, **fields})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def upload(
    client: httpx.AsyncClient,
    application_id: str,
    body: bytes,
    *,
    content_type: str = "application/pdf",
    filename: str = "licence.pdf",
    document_type: str | None = "business_licence",
    metadata: Any = None,
    key: str | None = None,
) -> httpx.Response:
    data: dict[str, str] = {}
    if document_type is not None:
        data["document_type"] = document_type
    if metadata is not None:
        data["metadata"] = metadata if isinstance(metadata, str) else json.dumps(metadata)
    headers = {"Idempotency-Key": key} if key else {}
    url = f"/v1/applications/{application_id}/documents"
    if filename.isprintable():
        files = {"file": (filename, body, content_type)}
        return await client.post(url, files=files, data=data, headers=headers)
    # httpx percent-escapes control characters in file names; send them as they are.
    content, boundary = raw_multipart(filename, body, content_type, data)
    headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    return await client.post(url, content=content, headers=headers)


def raw_multipart(
    filename: str, body: bytes, content_type: str, data: dict[str, str]
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in data.items()
    ]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
        f"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    closing = f"\r\n--{boundary}--\r\n".encode()
    return b"".join(parts) + head.encode() + body + closing, boundary


async def blob_count(db: AsyncDatabase) -> tuple[int, int]:
    return (
        await db["document_blobs.files"].count_documents({}),
        await db["document_blobs.chunks"].count_documents({}),
    )


async def test_application_is_created_and_read_back(
    intake: ServiceContext, partner: tuple[str, str]
) -> None:
    async with client_for(intake, partner[1]) as client:
        application_id = await create_application(client)
        response = await client.get(f"/v1/applications/{application_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "submitted"
    assert body["exporter"]["name"] == "Fjord Dairy AS"
    assert body["documents"] == []
    assert body["validation"] is None
    assert body["history"][0]["to_status"] == "submitted"
    assert (body["history"][0]["trigger"], body["history"][0]["channel"]) == ("created", "http")


async def test_renewal_needs_its_registration_and_is_stored_with_it(
    intake: ServiceContext, partner: tuple[str, str], db: AsyncDatabase
) -> None:
    async with client_for(intake, partner[1]) as client:
        refused = await client.post(
            "/v1/applications",
            json={"exporter": EXPORTER, "category": "food.dairy", "kind": "renewal"},
        )
        application_id = await create_application(
            client,
            kind="renewal",
            registration_number="CHN-DAIRY-0042",
            registration_valid_until="2027-03-31",
        )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:regwatch:problem:invalid_request"
    assert "registration_valid_until" in refused.json()["detail"]
    stored = await db["applications"].find_one({"_id": application_id})
    assert stored["registration_valid_until"] == datetime(2027, 3, 31, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"category": "toys.lego"}, "unknown_category"),
        ({"product": None}, "missing_product"),
        ({"product": "cheddar_sticks"}, "unknown_product"),
        ({"category": "scrap.metal", "product": "copper"}, "unknown_product"),
    ],
)
async def test_application_outside_the_catalog_is_refused(
    intake: ServiceContext, partner: tuple[str, str], fields: dict[str, Any], code: str
) -> None:
    body = {"exporter": EXPORTER, "category": "food.dairy", "product": "milk_powder", "kind": "new"}
    async with client_for(intake, partner[1]) as client:
        response = await client.post("/v1/applications", json={**body, **fields})
    assert response.status_code == 422
    assert response.json()["type"] == f"urn:regwatch:problem:{code}"
    assert response.json()["detail"]


async def test_document_type_the_category_does_not_take_is_refused(
    intake: ServiceContext, partner: tuple[str, str]
) -> None:
    async with client_for(intake, partner[1]) as client:
        application_id = await create_application(client)
        response = await upload(
            client,
            application_id,
            sample_image("PNG", seed=3),
            content_type="image/png",
            filename="yard.png",
            document_type="floor_plan",
        )
    assert response.status_code == 422
    assert response.json()["type"] == "urn:regwatch:problem:unknown_document_type"
    assert "business_licence" in response.json()["detail"]


@pytest.mark.parametrize("api_key", [None, "rwk_not-a-key"])
async def test_missing_or_unknown_api_key_is_refused(
    intake: ServiceContext, api_key: str | None
) -> None:
    async with client_for(intake, api_key) as client:
        response = await client.get("/v1/applications")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["type"] == "urn:regwatch:problem:unauthorized"


async def test_upload_is_stored_published_and_served_back(
    intake: ServiceContext, partner: tuple[str, str], settings: Settings, db: AsyncDatabase
) -> None:
    body = sample_pdf(f"licence {uuid.uuid4()}")
    async with EventTap(settings.amqp_url) as tap, client_for(intake, partner[1]) as client:
        application_id = await create_application(client)
        response = await upload(
            client,
            application_id,
            body,
            filename="../scans/licence\x07.pdf",
            metadata={"language": "en", "issue_date": "2024-05-01"},
        )
        assert response.status_code == 201, response.text
        document = response.json()["document"]
        received = await tap.wait_for("document.received", application_id=application_id)
        content = await client.get(document["content_url"])
        detail = await client.get(f"/v1/applications/{application_id}")
    assert response.json()["status"] == "accepted"
    assert document["filename"] == "licence.pdf"
    assert document["original_filename"] == "../scans/licence\x07.pdf"
    assert document["flags"] == ["filename_sanitised"]
    assert document["sha256"] == hashlib.sha256(body).hexdigest()
    assert document["metadata"] == {"language": "en", "issue_date": "2024-05-01"}
    assert received[0]["data"]["document_id"] == document["id"]
    assert content.status_code == 200
    assert content.content == body
    assert content.headers["content-type"] == "application/pdf"
    assert [d["id"] for d in detail.json()["documents"]] == [document["id"]]
    stored = await db["documents"].find_one({"_id": document["id"]})
    assert stored["channel"] == "http"
    assert stored["partner_id"] == partner[0]


async def test_same_idempotency_key_yields_the_same_document_once(
    intake: ServiceContext, partner: tuple[str, str], settings: Settings, db: AsyncDatabase
) -> None:
    body = sample_pdf(f"idem {uuid.uuid4()}")
    key = str(uuid.uuid4())
    async with EventTap(settings.amqp_url) as tap, client_for(intake, partner[1]) as client:
        application_id = await create_application(client)
        first = await upload(client, application_id, body, key=key)
        second = await upload(client, application_id, body, key=key)
        other = await upload(client, application_id, sample_pdf("other"), key=key)
        await tap.wait_for("document.received", application_id=application_id)
        await asyncio.sleep(0.5)  # a second document.received, if there were one, comes now
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["status"] == "duplicate"
    assert second.json()["document"]["id"] == first.json()["document"]["id"]
    assert other.status_code == 422
    assert other.json()["type"] == "urn:regwatch:problem:idempotency_key_reused"
    assert len(tap.of_type("document.received", application_id=application_id)) == 1
    assert await db["documents"].count_documents({"application_id": application_id}) == 1


async def test_same_content_again_to_the_same_application_is_a_duplicate(
    intake: ServiceContext, partner: tuple[str, str], db: AsyncDatabase
) -> None:
    body = sample_image("PNG", seed=7)
    async with client_for(intake, partner[1]) as client:
        application_id = await create_application(client)
        first = await upload(client, application_id, body, content_type="image/png")
        again = await upload(
            client, application_id, body, content_type="image/png", filename="again.png"
        )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["document"]["id"] == first.json()["document"]["id"]
    assert await db["documents"].count_documents({"application_id": application_id}) == 1


CORRUPT_PDF = b"%PDF-1.7\n" + b"\x00garbage" * 300
REFUSALS = [
    ("empty", b"", {}, 422, "empty_body"),
    ("mismatch", sample_image("PNG"), {}, 415, "content_type_mismatch"),
    ("gif", b"GIF89a" + b"\x01" * 64, {"content_type": "image/gif"}, 415, "unsupported_type"),
    ("corrupt pdf", CORRUPT_PDF, {}, 422, "corrupt_file"),
    ("corrupt png", sample_image("PNG")[:60], {"content_type": "image/png"}, 422, "corrupt_file"),
    ("control chars", sample_pdf("cc"), {"filename": "\x01\x02"}, 422, "bad_filename"),
    ("path only", sample_pdf("po"), {"filename": "../../"}, 422, "bad_filename"),
    ("bad metadata json", sample_pdf("m1"), {"metadata": "{oops"}, 422, "bad_metadata"),
    (
        "bad metadata field",
        sample_pdf("m2"),
        {"metadata": {"issue_date": "yesterday"}},
        422,
        "bad_metadata",
    ),
    ("no document type", sample_pdf("nd"), {"document_type": None}, 422, "missing_field"),
    (
        "bad document type",
        sample_pdf("ud"),
        {"document_type": "Secret Plans"},
        422,
        "unknown_document_type",
    ),
    (
        "unknown document type",
        sample_pdf("ue"),
        {"document_type": "passport_scan"},
        422,
        "unknown_document_type",
    ),
    ("long key", sample_pdf("lk"), {"key": "k" * 300}, 422, "bad_header"),
]


@pytest.mark.parametrize(
    ("body", "options", "status", "code"),
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
async def test_refused_upload_stores_nothing_and_publishes_rejection(
    intake: ServiceContext,
    partner: tuple[str, str],
    settings: Settings,
    db: AsyncDatabase,
    body: bytes,
    options: dict[str, Any],
    status: int,
    code: str,
) -> None:
    async with EventTap(settings.amqp_url) as tap, client_for(intake, partner[1]) as client:
        application_id = await create_application(client)
        before = await blob_count(db)
        response = await upload(client, application_id, body, **options)
        rejected = await tap.wait_for("document.rejected", application_id=application_id)
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["type"] == f"urn:regwatch:problem:{code}"
    assert problem["status"] == status
    assert problem["detail"]
    assert rejected[0]["data"]["errors"][0]["code"] == code
    assert await db["documents"].count_documents({"application_id": application_id}) == 0
    assert await blob_count(db) == before


async def test_upload_over_the_size_limit_is_refused(
    intake: ServiceContext, partner: tuple[str, str], db: AsyncDatabase
) -> None:
    small = dataclasses.replace(
        intake, settings=intake.settings.model_copy(update={"max_document_bytes": 4096})
    )
    async with client_for(small, partner[1]) as client:
        application_id = await create_application(client)
        before = await blob_count(db)
        response = await upload(client, application_id, sample_pdf("big") + b" " * 8192)
    assert response.status_code == 413
    assert response.json()["type"] == "urn:regwatch:problem:too_large"
    assert await blob_count(db) == before


async def test_upload_declaring_too_many_bytes_is_refused_before_it_is_read(
    intake: ServiceContext, partner: tuple[str, str], db: AsyncDatabase
) -> None:
    small = dataclasses.replace(
        intake, settings=intake.settings.model_copy(update={"max_document_bytes": 4096})
    )
    async with client_for(small, partner[1]) as client:
        application_id = await create_application(client)
        before = await blob_count(db)
        response = await upload(client, application_id, pdf_with_attachment(200 * 1024))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:regwatch:problem:too_large"
    assert await blob_count(db) == before


def pdf_with_attachment(size: int) -> bytes:
    """A readable PDF carrying ``size`` random bytes as an embedded file."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment("scan.bin", os.urandom(size))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


async def test_20_mib_upload_is_stored_intact(
    intake: ServiceContext, partner: tuple[str, str], db: AsyncDatabase
) -> None:
    body = pdf_with_attachment(20 * 1024 * 1024)
    async with client_for(intake, partner[1]) as client:
        application_id = await create_application(client)
        response = await upload(client, application_id, body, filename="big.pdf")
        assert response.status_code == 201, response.text
        document = response.json()["document"]
        content = await client.get(document["content_url"])
    assert document["size"] == len(body)
    assert document["sha256"] == hashlib.sha256(body).hexdigest()
    assert hashlib.sha256(content.content).hexdigest() == document["sha256"]
    stored = await db["documents"].find_one({"_id": document["id"]})
    chunks = await db["document_blobs.chunks"].count_documents({"files_id": stored["blob_id"]})
    assert chunks == -(-len(body) // (255 * 1024))


@pytest.mark.parametrize(
    "size",
    [100 * 1024, IN_TRANSACTION_BYTES + 1024 * 1024],
    ids=["bytes with the record", "bytes written first"],
)
async def test_a_repeated_upload_leaves_no_second_file(
    intake: ServiceContext, partner: tuple[str, str], db: AsyncDatabase, size: int
) -> None:
    body = pdf_with_attachment(size)
    key = str(uuid.uuid4())
    async with client_for(intake, partner[1]) as client:
        application_id = await create_application(client)
        first = await upload(client, application_id, body, key=key)
        assert first.status_code == 201, first.text
        stored = await blob_count(db)
        again = await upload(client, application_id, body, key=key)
        content = await client.get(again.json()["document"]["content_url"])
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["document"] == first.json()["document"]
    assert await blob_count(db) == stored
    assert hashlib.sha256(content.content).hexdigest() == hashlib.sha256(body).hexdigest()


async def test_50_concurrent_uploads_make_50_documents(
    intake: ServiceContext, partner: tuple[str, str], settings: Settings, db: AsyncDatabase
) -> None:
    async with EventTap(settings.amqp_url) as tap, client_for(intake, partner[1]) as client:
        application_id = await create_application(client)
        bodies = [sample_pdf(f"concurrent {i} {uuid.uuid4()}") for i in range(50)]
        responses = await asyncio.gather(
            *(
                upload(client, application_id, b, filename=f"doc{i}.pdf")
                for i, b in enumerate(bodies)
            )
        )
        await tap.wait_for("document.received", count=50, application_id=application_id, timeout=60)
    assert [r.status_code for r in responses] == [201] * 50
    assert len({r.json()["document"]["id"] for r in responses}) == 50
    assert await db["documents"].count_documents({"application_id": application_id}) == 50


async def test_partner_cannot_reach_another_partners_application(
    intake: ServiceContext, partner: tuple[str, str], db: AsyncDatabase
) -> None:
    _, other_key = await new_api_partner(db, "Other partner")
    async with client_for(intake, partner[1]) as owner, client_for(intake, other_key) as other:
        application_id = await create_application(owner)
        stored = await upload(owner, application_id, sample_pdf(f"mine {uuid.uuid4()}"))
        document_id = stored.json()["document"]["id"]
        answers = [
            await other.get(f"/v1/applications/{application_id}"),
            await upload(other, application_id, sample_pdf(f"intruder {uuid.uuid4()}")),
            await other.get(f"/v1/documents/{document_id}"),
            await other.get(f"/v1/documents/{document_id}/content"),
        ]
        listed = await other.get("/v1/applications")
    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert answers[1].json()["type"] == "urn:regwatch:problem:unknown_application"
    assert application_id not in [a["id"] for a in listed.json()["items"]]
    assert await db["documents"].count_documents({"application_id": application_id}) == 1


async def test_applications_are_listed_paged_and_filtered(
    intake: ServiceContext, db: AsyncDatabase
) -> None:
    _, api_key = await new_api_partner(db, "Lister")
    async with client_for(intake, api_key) as client:
        dairy = [await create_application(client) for _ in range(3)]
        scrap = await create_application(client, category="scrap.metal", product=None)
        first = (await client.get("/v1/applications", params={"page_size": 2})).json()
        second = (await client.get("/v1/applications", params={"page_size": 2, "page": 2})).json()
        only_scrap = (
            await client.get("/v1/applications", params={"category": "scrap.metal"})
        ).json()
        none = (
            await client.get("/v1/applications", params={"status": "certificate_issued"})
        ).json()
        bad = await client.get("/v1/applications", params={"page": 0})
    ids = [a["id"] for a in first["items"] + second["items"]]
    assert sorted(ids) == sorted([*dairy, scrap])
    assert first["next_page"] == 2
    assert second["next_page"] is None
    assert [a["id"] for a in only_scrap["items"]] == [scrap]
    assert none["items"] == []
    assert bad.status_code == 422


async def test_application_shows_its_latest_validation_result(
    intake: ServiceContext, partner: tuple[str, str], db: AsyncDatabase
) -> None:
    async with client_for(intake, partner[1]) as client:
        application_id = await create_application(client)
        for day, verdict in ((1, "incomplete"), (3, "complete"), (2, "incomplete")):
            await db["validation_results"].insert_one(
                {
                    "_id": f"val_{uuid.uuid4().hex}",
                    "application_id": application_id,
                    "fingerprint": f"fp{day}",
                    "evaluated_at": datetime(2026, 1, day, tzinfo=UTC),
                    "verdict": verdict,
                }
            )
        detail = (await client.get(f"/v1/applications/{application_id}")).json()
    assert detail["validation"]["verdict"] == "complete"
    assert detail["validation"]["fingerprint"] == "fp3"


async def test_database_outage_is_answered_503_with_retry_after(
    intake: ServiceContext, partner: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise AutoReconnect("connection refused")

    monkeypatch.setattr(partner_api.store, "list_applications", unavailable)
    async with client_for(intake, partner[1]) as client:
        response = await client.get("/v1/applications")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["type"] == "urn:regwatch:problem:database_unavailable"
