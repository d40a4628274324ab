"""Writing a document's bytes to GridFS in the fewest round trips.

The files are ordinary GridFS files (chunks, then the files document last, as the GridFS
spec lays them out), read back with PyMongo's ``AsyncGridFSBucket``. They are written here
rather than through it because PyMongo's upload checks the bucket's indexes with two
queries before every file (each upload is a new ``GridIn``) and cannot join a
transaction. The indexes are created once at start-up instead (``shared.infra.db.INDEXES``).

A file of up to IN_TRANSACTION_BYTES is written with its document record, in the record's
unit of work (``blob_writes``): bytes, record and event commit together, in one command
and the commit. A larger one is written first, in batches (``put_blob``): a transaction
should not carry tens of megabytes, and the batches are read from the upload as they go.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

from bson import ObjectId

from shared.infra.db import DOCUMENT_BLOBS_BUCKET
from shared.infra.mongo_types import Database, MongoClient
from shared.infra.unit_of_work import insert_all

CHUNK_BYTES = 255 * 1024  # GridFS's default chunk size
BATCH_BYTES = 8 * 1024 * 1024  # chunks sent per command (well under a 48 MB message)
IN_TRANSACTION_BYTES = BATCH_BYTES
CHUNKS = f"{DOCUMENT_BLOBS_BUCKET}.chunks"
FILES = f"{DOCUMENT_BLOBS_BUCKET}.files"
Write = tuple[str, dict[str, Any]]


def _chunks(blob_id: ObjectId, source: BinaryIO) -> Iterator[dict[str, Any]]:
    number = 0
    while data := source.read(CHUNK_BYTES):
        yield {"files_id": blob_id, "n": number, "data": data}
        number += 1


def _files_document(
    blob_id: ObjectId,
    *,
    filename: str,
    length: int,
    metadata: dict[str, Any],
    uploaded_at: datetime,
) -> dict[str, Any]:
    return {
        "_id": blob_id,
        "length": length,
        "chunkSize": CHUNK_BYTES,
        "uploadDate": uploaded_at,
        "filename": filename,
        "metadata": metadata,
    }


def blob_writes(
    *,
    blob_id: ObjectId,
    filename: str,
    source: BinaryIO,
    metadata: dict[str, Any],
    uploaded_at: datetime,
) -> list[Write]:
    """The inserts of GridFS file ``blob_id`` (chunks, then the files document), in order.

    For a file of up to IN_TRANSACTION_BYTES, staged in a unit of work (``uow.insert``).
    """
    chunks = list(_chunks(blob_id, source))
    length = sum(len(chunk["data"]) for chunk in chunks)
    files = _files_document(
        blob_id, filename=filename, length=length, metadata=metadata, uploaded_at=uploaded_at
    )
    return [*((CHUNKS, chunk) for chunk in chunks), (FILES, files)]


async def put_blob(
    client: MongoClient,
    db: Database,
    *,
    blob_id: ObjectId,
    filename: str,
    source: BinaryIO,
    metadata: dict[str, Any],
    uploaded_at: datetime,
) -> None:
    """Store ``source`` as GridFS file ``blob_id`` now; on failure no part of it is left.

    The last chunks and the files document go in one ordered command: a failed chunk stops
    the files document, and until it exists readers see no file.
    """
    length, batch, batch_bytes = 0, [], 0
    try:
        for chunk in _chunks(blob_id, source):
            batch.append(chunk)
            length, batch_bytes = length + len(chunk["data"]), batch_bytes + len(chunk["data"])
            if batch_bytes >= BATCH_BYTES:
                await db[CHUNKS].insert_many(batch)
                batch, batch_bytes = [], 0
        files = _files_document(
            blob_id, filename=filename, length=length, metadata=metadata, uploaded_at=uploaded_at
        )
        await insert_all(client, db, [*((CHUNKS, chunk) for chunk in batch), (FILES, files)])
    except BaseException:
        await db[FILES].delete_one({"_id": blob_id})
        await db[CHUNKS].delete_many({"files_id": blob_id})
        raise
