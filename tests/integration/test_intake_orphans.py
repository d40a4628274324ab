"""The orphan sweep: GridFS bytes whose document record never committed are removed after
the grace period, claimed bytes are kept, and the intake service sweeps on its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from services.intake import app as intake_app
from services.intake.orphans import sweep_orphans
from shared.infra.db import blobs
from shared.infra.settings import Settings
from tests.support import own_database, sample_pdf, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")
GRACE = timedelta(minutes=10)


@pytest_asyncio.fixture(loop_scope="session")
async def own_db(settings: Settings) -> AsyncIterator[AsyncDatabase]:
    """A database of its own: no other test's files, no other sweeper's watermark."""
    name = f"{settings.mongodb_db}_orphans_{uuid.uuid4().hex[:6]}"
    async with own_database(settings.model_copy(update={"mongodb_db": name})) as database:
        yield database


async def put_blob(db: AsyncDatabase, *, document_id: str, uploaded_at: datetime) -> ObjectId:
    blob_id = ObjectId()
    await blobs(db).upload_from_stream_with_id(
        blob_id,
        "licence.pdf",
        sample_pdf(document_id) + b"%" * 300_000,  # more than one chunk
        metadata={"document_id": document_id, "uploaded_at": uploaded_at},
    )
    return blob_id


async def exists(db: AsyncDatabase, blob_id: ObjectId) -> tuple[bool, bool]:
    files = await db["document_blobs.files"].count_documents({"_id": blob_id})
    chunks = await db["document_blobs.chunks"].count_documents({"files_id": blob_id})
    return files > 0, chunks > 0


async def test_orphans_past_the_grace_period_are_deleted_and_claimed_bytes_kept(
    own_db: AsyncDatabase,
) -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    orphan = await put_blob(own_db, document_id="doc_never", uploaded_at=now - 2 * GRACE)
    claimed = await put_blob(own_db, document_id="doc_kept", uploaded_at=now - 2 * GRACE)
    await own_db["documents"].insert_one({"_id": "doc_kept", "blob_id": claimed})
    recent = await put_blob(own_db, document_id="doc_in_flight", uploaded_at=now - GRACE / 2)

    assert await sweep_orphans(own_db, now=now, grace=GRACE) == 1
    assert await exists(own_db, orphan) == (False, False)
    assert await exists(own_db, claimed) == (True, True)
    assert await exists(own_db, recent) == (True, True)
    # The same window is not read twice; the in-flight upload's turn comes after its grace.
    assert await sweep_orphans(own_db, now=now, grace=GRACE) == 0
    assert await sweep_orphans(own_db, now=now + GRACE, grace=GRACE) == 1
    assert await exists(own_db, recent) == (False, False)
    assert await exists(own_db, claimed) == (True, True)


async def test_intake_service_sweeps_orphans_by_itself(
    settings: Settings, own_db: AsyncDatabase
) -> None:
    sweeping = settings.model_copy(
        update={
            "mongodb_db": own_db.name,
            "orphan_sweep_seconds": 0.2,
            "orphan_grace_seconds": 1.0,
        }
    )
    ctx = await intake_app.start(sweeping)
    try:
        orphan = await put_blob(own_db, document_id="doc_crashed", uploaded_at=ctx.clock.now())

        async def gone() -> bool:
            return await exists(own_db, orphan) == (False, False)

        await wait_until(gone, timeout=15)
    finally:
        await ctx.close()
