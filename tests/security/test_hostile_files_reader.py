"""The reader service on the hostile files the intake stores: every one is read (or said
unreadable) within its limits, one after another, and the reader stays up."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from services.intake import app as intake_app
from services.intake.http import create_http_app
from services.reader import app as reader_app
from services.reader.extract import ReadLimits, extract
from shared.app.partners import issue_api_key, new_partner, save_partner
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from tests import servers
from tests.factories import make_application
from tests.security import hostile_files as hostile
from tests.support import EventTap, sample_pdf

TIME_LIMIT = 5.0
# What the reader is given once the intake stored it (the refused ones never reach it).
STORED: list[tuple[str, Callable[[], bytes]]] = [
    ("text extraction bomb", hostile.text_extraction_bomb),
    ("xref bomb", hostile.xref_bomb),
    ("permissions pdf", lambda: hostile.encrypted_pdf("")),
    ("launch action", lambda: hostile.pdf_with_action(hostile.LAUNCH_ACTION)),
    ("uri action", lambda: hostile.pdf_with_action(hostile.URI_ACTION)),
]
# Refused by the intake, but a reader must survive them too if one ever got through.
REFUSED: list[tuple[str, Callable[[], bytes]]] = [
    ("page tree bomb", hostile.page_tree_bomb),
    ("object stream bomb", hostile.object_stream_bomb),
    ("password pdf", lambda: hostile.encrypted_pdf("secret")),
]


@pytest.mark.parametrize(
    "make", [m for _, m in STORED + REFUSED], ids=[n for n, _ in STORED + REFUSED]
)
def test_reading_a_hostile_pdf_stays_within_its_limits(make: Callable[[], bytes]) -> None:
    limits = ReadLimits(page_cap=10, time_limit=TIME_LIMIT, ocr_languages="eng")
    started = time.monotonic()
    extraction = extract(make(), "application/pdf", limits, ocr_images=True)
    # The limit is checked between pages: one page's bounded work may overrun it.
    assert time.monotonic() - started < TIME_LIMIT + 10
    assert extraction.unreadable or extraction.page_count >= 1


def test_a_page_of_megabytes_of_text_operators_is_skipped_and_said() -> None:
    limits = ReadLimits(page_cap=10, time_limit=60, ocr_languages="eng")
    extraction = extract(hostile.text_extraction_bomb(), "application/pdf", limits, ocr_images=True)
    assert extraction.pages == [""]
    assert any("content over" in limit for limit in extraction.limits)


@pytest.fixture(scope="module")
def reading_settings(settings: Settings) -> Iterator[Settings]:
    """The reader on with a short time limit per document."""
    with servers.reading_settings(settings, reader_time_limit_seconds=TIME_LIMIT) as on:
        yield on


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def services(
    reading_settings: Settings, db: AsyncDatabase
) -> AsyncIterator[dict[str, ServiceContext]]:
    contexts = {
        "intake": await intake_app.start(reading_settings),
        "reader": await reader_app.start(reading_settings),
    }
    yield contexts
    for ctx in contexts.values():
        await ctx.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_the_reader_reads_every_stored_hostile_file_and_then_a_plain_one(
    services: dict[str, ServiceContext], reading_settings: Settings, db: AsyncDatabase
) -> None:
    partner = new_partner(name="Hostile reader partner", now=services["intake"].clock.now())
    await save_partner(db, partner=partner)
    partner_id = partner.id
    application_id = await make_application(db, partner_id)
    key = await issue_api_key(db, partner_id=partner_id, now=services["intake"].clock.now())
    transport = httpx.ASGITransport(app=create_http_app(services["intake"]))
    files = [*STORED, ("plain", lambda: sample_pdf("after the hostile ones"))]
    async with (
        httpx.AsyncClient(
            transport=transport,
            base_url="http://intake.test",
            headers={"Authorization": f"Bearer {key}"},
        ) as client,
        EventTap(reading_settings.amqp_url, "document.read") as tap,
    ):
        ids = []
        for name, make in files:
            response = await client.post(
                f"/v1/applications/{application_id}/documents",
                files={"file": (f"{name}.pdf", make(), "application/pdf")},
                data={"document_type": "business_licence"},
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["document"]["id"])
        # One after another on the reader's pool: the plain file last proves none stuck it.
        timeout = len(files) * (TIME_LIMIT + 10)
        await tap.wait_for(
            "document.read", count=len(ids), timeout=timeout, application_id=application_id
        )
    read = {e["data"]["document_id"]: e["data"] for e in tap.of_type("document.read")}
    assert set(ids) <= set(read)
    assert any("content over" in limit for limit in read[ids[0]]["limits"])  # said, not hidden
