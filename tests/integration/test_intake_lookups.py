"""The intake's brief memory of partners and applications (services/intake/lookups.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

from services.intake.lookups import Lookups
from shared.app.partners import revoke_partner
from shared.infra.settings import Settings
from tests.factories import make_application, make_partner

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Finds(CommandListener):
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def started(self, event: CommandStartedEvent) -> None:
        self.counts[event.command_name] += 1

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass


@pytest_asyncio.fixture(loop_scope="session")
async def counted(settings: Settings) -> AsyncIterator[tuple[AsyncDatabase, Finds]]:
    finds = Finds()
    client: AsyncMongoClient = AsyncMongoClient(
        settings.mongodb_url, tz_aware=True, event_listeners=[finds]
    )
    yield client[settings.mongodb_db], finds
    await client.close()


async def test_documents_arriving_together_look_their_application_up_once(
    counted: tuple[AsyncDatabase, Finds], db: AsyncDatabase
) -> None:
    counted_db, finds = counted
    partner_id = await make_partner(db, amqp_user=f"burst-{uuid.uuid4().hex[:8]}")
    application_id = await make_application(db, partner_id)
    lookups = Lookups(counted_db, ttl_seconds=5)
    found = await asyncio.gather(
        *(
            lookups.application(partner_id=partner_id, application_id=application_id)
            for _ in range(20)
        )
    )
    again = await lookups.application(partner_id=partner_id, application_id=application_id)
    assert all(d is not None and d["_id"] == application_id for d in [*found, again])
    assert finds.counts["find"] == 1


async def test_another_partners_application_is_not_found_even_when_remembered(
    db: AsyncDatabase,
) -> None:
    owner = await make_partner(db, amqp_user=f"owner-{uuid.uuid4().hex[:8]}")
    intruder = await make_partner(db, amqp_user=f"intruder-{uuid.uuid4().hex[:8]}")
    application_id = await make_application(db, owner)
    lookups = Lookups(db, ttl_seconds=60)
    assert await lookups.application(partner_id=owner, application_id=application_id)
    assert await lookups.application(partner_id=intruder, application_id=application_id) is None


async def test_a_miss_is_not_remembered_so_a_new_partner_is_found_at_once(
    db: AsyncDatabase,
) -> None:
    user = f"late-{uuid.uuid4().hex[:8]}"
    lookups = Lookups(db, ttl_seconds=60)
    assert await lookups.partner_id_for_amqp_user(user) is None
    partner_id = await make_partner(db, amqp_user=user)
    assert await lookups.partner_id_for_amqp_user(user) == partner_id


async def test_a_revoked_partner_is_refused_once_the_memory_expires(db: AsyncDatabase) -> None:
    user = f"leaving-{uuid.uuid4().hex[:8]}"
    partner_id = await make_partner(db, amqp_user=user)
    lookups = Lookups(db, ttl_seconds=0.3)
    assert await lookups.partner_id_for_amqp_user(user) == partner_id
    await revoke_partner(db, partner_id=partner_id, now=datetime.now(UTC))
    await asyncio.sleep(0.4)
    assert await lookups.partner_id_for_amqp_user(user) is None


async def test_without_memory_every_look_up_queries(
    counted: tuple[AsyncDatabase, Finds], db: AsyncDatabase
) -> None:
    counted_db, finds = counted
    user = f"plain-{uuid.uuid4().hex[:8]}"
    await make_partner(db, amqp_user=user)
    lookups = Lookups(counted_db, ttl_seconds=0)
    for _ in range(3):
        assert await lookups.partner_id_for_amqp_user(user)
    assert finds.counts["find"] == 3
