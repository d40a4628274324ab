"""Sweeping GridFS files that no document record claims.

The bytes of a document go to GridFS before the transaction that records the document
(GridFS cannot join a transaction). A process that dies in between leaves an orphan file.
Each sweep looks at the files uploaded in the window since the previous sweep, up to the
grace period ago, and deletes those without their document record. The window's end is
kept in MongoDB, so each file is looked at about once, across restarts and replicas
(two replicas sweeping the same window do no harm: the checks and deletes are idempotent).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from gridfs.errors import NoFile

from shared.domain.clock import Clock
from shared.infra.db import DOCUMENT_BLOBS_BUCKET, blobs
from shared.infra.mongo_types import Database

log = logging.getLogger("regwatch.intake.orphans")
SWEEPS = "intake_orphan_sweeps"
_BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)


async def sweep_orphans(db: Database, *, now: datetime, grace: timedelta) -> int:
    """Delete the orphan GridFS files uploaded before ``now - grace``; returns how many."""
    cutoff = now - grace
    state = await db[SWEEPS].find_one({"_id": DOCUMENT_BLOBS_BUCKET})
    since = state["swept_until"] if state else _BEGINNING
    files = db[f"{DOCUMENT_BLOBS_BUCKET}.files"].find(
        {"metadata.uploaded_at": {"$gte": since, "$lt": cutoff}}, {"metadata": 1}
    )
    removed = 0
    async for file in files:
        if not await _claimed(db, file):
            try:
                await blobs(db).delete(file["_id"])
            except NoFile:  # another replica swept it first
                continue
            removed += 1
    await db[SWEEPS].update_one(
        {"_id": DOCUMENT_BLOBS_BUCKET}, {"$max": {"swept_until": cutoff}}, upsert=True
    )
    if removed:
        log.warning("removed %d orphan GridFS files uploaded before %s", removed, cutoff)
    return removed


async def _claimed(db: Database, file: dict[str, Any]) -> bool:
    document_id = (file.get("metadata") or {}).get("document_id")
    if document_id is None:
        return False
    record = await db["documents"].find_one(
        {"_id": document_id, "blob_id": file["_id"]}, {"_id": 1}
    )
    return record is not None


async def run_orphan_sweeps(
    db: Database, clock: Clock, *, every: timedelta, grace: timedelta
) -> None:
    """Sweep every ``every`` until cancelled; a failed sweep is retried next time."""
    while True:
        try:
            await sweep_orphans(db, now=clock.now(), grace=grace)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a database outage must not end the sweeps
            log.warning("orphan sweep failed: %s", exc)
        await asyncio.sleep(every.total_seconds())
