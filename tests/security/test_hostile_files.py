"""Hostile files: a decompression bomb, PDFs with scripts or embedded files (stored, flagged,
never opened in a browser here), truncated files and a file whose declared type lies."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript

from services.intake import app as intake_app
from services.intake.http import create_http_app
from services.intake.pdf_active import active_content
from shared.app.partners import issue_api_key, new_partner, save_partner
from shared.infra.db import DOCUMENT_BLOBS_BUCKET
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from tests.support import sample_image, sample_pdf

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
async def client(settings: Settings, db: AsyncDatabase) -> AsyncIterator[httpx.AsyncClient]:
    ctx: ServiceContext = await intake_app.start(settings)
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
    await ctx.close()


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
