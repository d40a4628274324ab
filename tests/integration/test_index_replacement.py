"""Indexes an earlier release made and a later one replaces are dropped at start, once the
replacement exists; the data they guarded keeps its guarantee throughout."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pymongo.errors import DuplicateKeyError

from shared.infra import db as mongo
from shared.infra.settings import Settings

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_inbox_index_of_an_earlier_release_is_replaced_and_still_unique(
    settings: Settings,
) -> None:
    client = mongo.connect(settings)
    name = f"regwatch_indexes_{uuid.uuid4().hex[:8]}"
    database = client[name]
    try:
        inbox = database["inbox"]
        await inbox.create_index([("consumer", 1), ("event_id", 1)], unique=True)
        await inbox.insert_one({"consumer": "validator", "event_id": "e1"})

        # Services starting together each make sure of the indexes; then again at a restart.
        await asyncio.gather(*(mongo.ensure_indexes(database) for _ in range(3)))
        await mongo.ensure_indexes(database)

        names = {index["name"] async for index in await inbox.list_indexes()}
        assert names == {"_id_", "event_id_1_consumer_1"}
        with pytest.raises(DuplicateKeyError):
            await inbox.insert_one({"consumer": "validator", "event_id": "e1"})
        await inbox.insert_one({"consumer": "notifier", "event_id": "e1"})
    finally:
        await client.drop_database(name)
        await client.close()
