"""Writing a document's bytes to GridFS in the fewest round trips.

The files are ordinary GridFS files (chunks, then the files document last, as the GridFS
spec lays them out), read back with PyMongo's ``AsyncGridFSBucket``. They are written here
rather than through it because PyMongo's upload checks the bucket's indexes with two
queries before every file (each upload is a new ``GridIn``): two of a document's few
round trips. The indexes are created once at start-up instead (``shared.infra.db.INDEXES``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, BinaryIO

from bson import Binary, ObjectId

from shared.infra.db import DOCUMENT_BLOBS_BUCKET
from shared.infra.mongo_types import Database

CHUNK_BYTES = 255 * 1024  # GridFS's default chunk size
BATCH_BYTES = 8 * 1024 * 1024  # chunks sent per insert_many (well under a 48 MB message)


async def put_blob(
    db: Database,
    *,
    blob_id: ObjectId,
    filename: str,
    source: BinaryIO,
    metadata: dict[str, Any],
    uploaded_at: datetime,
) -> None:
    """Store ``source`` as GridFS file ``blob_id``; on failure no chunk of it is left."""
    chunks = db[f"{DOCUMENT_BLOBS_BUCKET}.chunks"]
    length, number, batch, batch_bytes = 0, 0, [], 0
    try:
        while data := source.read(CHUNK_BYTES):
            batch.append({"files_id": blob_id, "n": number, "data": Binary(data)})
            number, length, batch_bytes = number + 1, length + len(data), batch_bytes + len(data)
            if batch_bytes >= BATCH_BYTES:
                await chunks.insert_many(batch)
                batch, batch_bytes = [], 0
        if batch:
            await chunks.insert_many(batch)
        # The files document comes last: until it exists, readers see no file.
        await db[f"{DOCUMENT_BLOBS_BUCKET}.files"].insert_one(
            {
                "_id": blob_id,
                "length": length,
                "chunkSize": CHUNK_BYTES,
                "uploadDate": uploaded_at,
                "filename": filename,
                "metadata": metadata,
            }
        )
    except BaseException:
        await chunks.delete_many({"files_id": blob_id})
        raise
