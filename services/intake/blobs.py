"""Writing a document's bytes to GridFS in the fewest round trips.

The files are ordinary GridFS files (chunks, then the files document last, as the GridFS
spec lays them out), read back with PyMongo's ``AsyncGridFSBucket``. They are written here
rather than through it because PyMongo's upload checks the bucket's indexes with two
queries before every file (each upload is a new ``GridIn``): two of a document's few
round trips. The indexes are created once at start-up instead (``shared.infra.db.INDEXES``).
The last chunks and the files document go in one ordered command (``insert_all``): a file
of up to BATCH_BYTES costs one round trip, and a failed chunk stops the files document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, BinaryIO

from bson import ObjectId

from shared.infra.db import DOCUMENT_BLOBS_BUCKET
from shared.infra.mongo_types import Database, MongoClient
from shared.infra.unit_of_work import insert_all

CHUNK_BYTES = 255 * 1024  # GridFS's default chunk size
BATCH_BYTES = 8 * 1024 * 1024  # chunks sent per command (well under a 48 MB message)
CHUNKS = f"{DOCUMENT_BLOBS_BUCKET}.chunks"
FILES = f"{DOCUMENT_BLOBS_BUCKET}.files"


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
    """Store ``source`` as GridFS file ``blob_id``; on failure no part of it is left."""
    length, number, batch, batch_bytes = 0, 0, [], 0
    try:
        while data := source.read(CHUNK_BYTES):
            batch.append({"files_id": blob_id, "n": number, "data": data})
            number, length, batch_bytes = number + 1, length + len(data), batch_bytes + len(data)
            if batch_bytes >= BATCH_BYTES:
                await db[CHUNKS].insert_many(batch)
                batch, batch_bytes = [], 0
        # The files document comes last: until it exists, readers see no file.
        files = {
            "_id": blob_id,
            "length": length,
            "chunkSize": CHUNK_BYTES,
            "uploadDate": uploaded_at,
            "filename": filename,
            "metadata": metadata,
        }
        await insert_all(client, db, [*((CHUNKS, chunk) for chunk in batch), (FILES, files)])
    except BaseException:
        await db[FILES].delete_one({"_id": blob_id})
        await db[CHUNKS].delete_many({"files_id": blob_id})
        raise
