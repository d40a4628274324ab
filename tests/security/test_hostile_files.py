"""Hostile files: a decompression bomb, PDFs with scripts or embedded files (stored, flagged,
never opened in a browser here), truncated files and a file whose declared type lies; and,
through HTTP and AMQP alike, encrypted PDFs, page tree, object stream and xref bombs,
polyglots, outward actions and image dimension bombs, each with its own code or flag."""

from __future__ import annotations

import io
import json
import struct
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import aio_pika
import httpx
import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript

from services.intake import app as intake_app
from services.intake.checks import IntakeError
from services.intake.content import inspect_content
from services.intake.http import create_http_app
from services.intake.pdf_active import active_content
from shared.app.partners import issue_api_key, new_partner, save_partner
from shared.infra.db import DOCUMENT_BLOBS_BUCKET
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from shared.infra.topology import INTAKE_EXCHANGE, SUBMIT_ROUTING_KEY
from tests.factories import make_application, make_partner
from tests.security import hostile_files as hostile
from tests.security.hostile_input import accepted_or_refused
from tests.support import next_message, sample_image, sample_pdf

PDF = "application/pdf"
EXPORTER = {"name": "Fjord Dairy AS", "country": "NO", "contact_emails": ["export@fjord.example"]}


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG that claims 10 billion pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


def pdf_with_javascript() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_open_action(JavaScript("app.alert('hello from a partner file');"))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_with_attachment() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment("payload.exe", b"MZ\x90\x00 not really a program")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def intake(settings: Settings, db: AsyncDatabase) -> AsyncIterator[ServiceContext]:
    """The intake in this process: its HTTP app below, its AMQP consumer on the broker."""
    ctx = await intake_app.start(settings)
    yield ctx
    await ctx.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def client(intake: ServiceContext, db: AsyncDatabase) -> AsyncIterator[httpx.AsyncClient]:
    ctx = intake
    now = datetime.now(UTC)
    partner = new_partner(name="Hostile files partner", now=now)
    await save_partner(db, partner=partner)
    key = await issue_api_key(db, partner_id=partner.id, now=now)
    transport = httpx.ASGITransport(app=create_http_app(ctx))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://intake.test",
        headers={"Authorization": f"Bearer {key}"},
    ) as http:
        yield http


@pytest_asyncio.fixture(loop_scope="session")
async def application_id(client: httpx.AsyncClient) -> str:
    response = await client.post(
        "/v1/applications",
        json={
            "exporter": EXPORTER,
            "category": "food.dairy",
            "product": "milk_powder",
            "kind": "new",
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def upload(
    client: httpx.AsyncClient, application_id: str, body: bytes, content_type: str
) -> httpx.Response:
    return await client.post(
        f"/v1/applications/{application_id}/documents",
        files={"file": ("file", body, content_type)},
        data={"document_type": "application_form"},
    )


async def blob_count(db: AsyncDatabase) -> int:
    return await db[f"{DOCUMENT_BLOBS_BUCKET}.files"].count_documents({})


def test_active_content_is_found_in_the_object_graph() -> None:
    assert "pdf_javascript" in active_content(PdfReader(io.BytesIO(pdf_with_javascript())))
    assert "pdf_embedded_files" in active_content(PdfReader(io.BytesIO(pdf_with_attachment())))
    assert active_content(PdfReader(io.BytesIO(sample_pdf("plain")))) == []


@pytest.mark.parametrize(
    ("make", "flag"),
    [(pdf_with_javascript, "pdf_javascript"), (pdf_with_attachment, "pdf_embedded_files")],
)
@pytest.mark.asyncio(loop_scope="session")
async def test_pdf_with_active_content_is_stored_and_flagged(
    client: httpx.AsyncClient, db: AsyncDatabase, application_id: str, make, flag: str
) -> None:
    body = make()
    response = await upload(client, application_id, body, "application/pdf")
    assert response.status_code == 201, response.text
    stored = await db["documents"].find_one({"_id": response.json()["document"]["id"]})
    assert flag in stored["flags"]
    content = await client.get(f"/v1/documents/{stored['_id']}/content")
    assert content.content == body  # kept byte for byte, served only as an attachment
    assert content.headers["content-disposition"].startswith("attachment")


@pytest.mark.asyncio(loop_scope="session")
async def test_decompression_bomb_is_refused_without_being_decoded(
    client: httpx.AsyncClient, db: AsyncDatabase, application_id: str
) -> None:
    blobs_before = await db[f"{DOCUMENT_BLOBS_BUCKET}.files"].count_documents({})
    response = await upload(client, application_id, png_bomb(), "image/png")
    assert response.status_code in (413, 422), response.text
    assert response.json()["type"].endswith("image_too_large")
    assert await db[f"{DOCUMENT_BLOBS_BUCKET}.files"].count_documents({}) == blobs_before


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (sample_pdf("truncated")[:200], "application/pdf"),
        (sample_image("PNG", seed=7)[:60], "image/png"),
        (sample_image("JPEG", seed=7)[:100], "image/jpeg"),
    ],
)
async def test_truncated_files_are_refused_as_corrupt(
    client: httpx.AsyncClient, application_id: str, body: bytes, content_type: str
) -> None:
    response = await upload(client, application_id, body, content_type)
    assert response.status_code == 422, response.text
    assert response.json()["type"].endswith("corrupt_file")


@pytest.mark.asyncio(loop_scope="session")
async def test_a_file_whose_declared_type_lies_is_refused(
    client: httpx.AsyncClient, application_id: str
) -> None:
    response = await upload(client, application_id, sample_image("PNG", seed=3), "application/pdf")
    assert response.json()["type"].endswith("content_type_mismatch"), response.text
    html = b"<html><script>alert(1)</script></html>"
    response = await upload(client, application_id, html, "application/pdf")
    assert response.json()["type"].endswith("unsupported_type"), response.text


# (name, file, declared type, refusal code or None, flag expected when stored)
HOSTILE: list[tuple[str, Callable[[], bytes], str, str | None, str | None]] = [
    ("password pdf", lambda: hostile.encrypted_pdf("secret"), PDF, "encrypted_pdf", None),
    ("permissions pdf", lambda: hostile.encrypted_pdf(""), PDF, None, "pdf_encrypted"),
    ("page tree bomb", hostile.page_tree_bomb, PDF, "pdf_too_complex", None),
    ("object stream bomb", hostile.object_stream_bomb, PDF, "pdf_too_complex", None),
    ("xref bomb", hostile.xref_bomb, PDF, None, None),
    ("text extraction bomb", hostile.text_extraction_bomb, PDF, None, None),
    ("pdf + zip", hostile.pdf_then_zip, PDF, "polyglot_file", None),
    ("zip + pdf", hostile.zip_holding_a_pdf_header, PDF, "polyglot_file", None),
    ("html + pdf", hostile.html_then_pdf, PDF, "polyglot_file", None),
    (
        "uri action",
        lambda: hostile.pdf_with_action(hostile.URI_ACTION),
        PDF,
        None,
        "pdf_uri_action",
    ),
    (
        "submit form",
        lambda: hostile.pdf_with_action(hostile.SUBMIT_FORM_ACTION),
        PDF,
        None,
        "pdf_submit_form",
    ),
    (
        "launch action",
        lambda: hostile.pdf_with_action(hostile.LAUNCH_ACTION),
        PDF,
        None,
        "pdf_launch_action",
    ),
    ("jpeg dimension bomb", hostile.jpeg_dimension_bomb, "image/jpeg", "image_too_large", None),
    ("tiff dimension bomb", hostile.tiff_dimension_bomb, "image/tiff", "image_too_large", None),
]
HOSTILE_IDS = [case[0] for case in HOSTILE]


@pytest.mark.parametrize(
    ("make", "declared", "code", "flag"), [c[1:] for c in HOSTILE], ids=HOSTILE_IDS
)
def test_hostile_files_are_checked_quickly_with_their_own_answer(
    make: Callable[[], bytes], declared: str, code: str | None, flag: str | None
) -> None:
    started = time.monotonic()
    facts = accepted_or_refused(
        lambda: inspect_content(
            io.BytesIO(make()), declared, max_bytes=25 * 1024 * 1024, max_pixels=60_000_000
        )
    )
    if isinstance(facts, IntakeError):
        assert facts.code == code, facts.message
    else:
        assert code is None, f"accepted, expected {code}"
        assert flag is None or flag in facts.flags
    assert time.monotonic() - started < 10  # bounded work, not a hang


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize(
    ("make", "declared", "code", "flag"), [c[1:] for c in HOSTILE], ids=HOSTILE_IDS
)
async def test_hostile_files_over_http_are_refused_with_their_code_or_stored_flagged(
    client: httpx.AsyncClient,
    db: AsyncDatabase,
    application_id: str,
    make: Callable[[], bytes],
    declared: str,
    code: str | None,
    flag: str | None,
) -> None:
    body = make()
    blobs_before = await blob_count(db)
    response = await upload(client, application_id, body, declared)
    if code is not None:
        assert response.status_code == 422, response.text
        assert response.json()["type"] == f"urn:regwatch:problem:{code}"
        assert await blob_count(db) == blobs_before
        return
    assert response.status_code == 201, response.text
    document = response.json()["document"]
    assert flag is None or flag in document["flags"]
    content = await client.get(f"/v1/documents/{document['id']}/content")
    assert content.content == body  # nothing lost: kept byte for byte


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def guest_partner(db: AsyncDatabase) -> str:
    """The partner whose RabbitMQ user is the test session's own (guest)."""
    existing = await db["partners"].find_one({"amqp_user": "guest"})
    return str(existing["_id"]) if existing else await make_partner(db, amqp_user="guest")


@pytest.mark.asyncio(loop_scope="session")
async def test_hostile_files_over_amqp_are_answered_each_with_its_code_or_stored(
    intake: ServiceContext, settings: Settings, db: AsyncDatabase, guest_partner: str
) -> None:
    application_id = await make_application(db, guest_partner)
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        replies = await channel.declare_queue(exclusive=True)
        exchange = await channel.get_exchange(INTAKE_EXCHANGE.name)
        sent: dict[str, tuple[bytes, str | None, str | None]] = {}
        for name, make, declared, code, flag in HOSTILE:
            body, message_id = make(), f"hostile-{uuid.uuid4()}"
            sent[message_id] = (body, code, flag)
            headers = {
                "x-application-id": application_id,
                "x-document-type": "business_licence",
                "x-filename": f"{name}.bin",
            }
            message = aio_pika.Message(
                body,
                message_id=message_id,
                correlation_id=message_id,
                content_type=declared,
                user_id="guest",
                reply_to=replies.name,
                headers=headers,
            )
            await exchange.publish(message, routing_key=SUBMIT_ROUTING_KEY)
        answers: dict[str, dict[str, Any]] = {}
        while len(answers) < len(sent):  # every message answered: none dropped or stuck
            reply = await next_message(replies, timeout=60)
            answers[str(reply.correlation_id)] = json.loads(reply.body)
    for message_id, (body, code, flag) in sent.items():
        answer = answers[message_id]
        if code is not None:
            assert answer["status"] == "rejected", answer
            assert [e["code"] for e in answer["errors"]] == [code]
            continue
        assert answer["status"] == "accepted", answer
        stored = await db["documents"].find_one({"_id": answer["document_id"]})
        assert flag is None or flag in stored["flags"]
        assert stored["size"] == len(body)
