"""What one document.received costs the validator in MongoDB commands, by path: a new
document is one read, one write and the commit; one an evaluation already saw is the read
and the inbox mark; a redelivery is the read alone. And an evaluation that finds nothing
changed stores and publishes nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from bson import ObjectId
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from services.validator.app import catalog_for
from services.validator.handlers import on_document_received, revalidate
from shared.domain.events import CloudEvent, DocumentReceived, new_event
from shared.domain.models import new_id
from shared.infra.retry import with_backoff
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from tests.integration.lifecycle_support import (
    Lifecycle,
    new_application,
    results_of,
)


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def take(self) -> list[str]:
        names, self.names = self.names, []
        return names


@pytest_asyncio.fixture
async def counted(
    settings: Settings, lifecycle: Lifecycle
) -> AsyncIterator[tuple[ServiceContext, Commands]]:
    """The running validator's context on a client whose commands are recorded."""
    commands = Commands()
    client: AsyncMongoClient = AsyncMongoClient(  # type: ignore[type-arg]
        settings.mongodb_url, tz_aware=True, event_listeners=[commands]
    )
    ctx = dataclasses.replace(lifecycle.validator, client=client, db=client[settings.mongodb_db])
    yield ctx, commands
    await client.close()


async def stored_document(db: AsyncDatabase, application_id: str) -> CloudEvent:
    """A document record as intake stores it, and its event (not published)."""
    sha256 = hashlib.sha256(ObjectId().binary).hexdigest()
    payload = DocumentReceived(
        document_id=new_id("doc"),
        application_id=application_id,
        partner_id="ptn_test",
        document_type="application_form",
        filename="form.pdf",
        content_type="application/pdf",
        size=1000,
        sha256=sha256,
        metadata={"language": "zh"},
        received_at=datetime.now(UTC),
    )
    fields = payload.model_dump(exclude={"document_id"})
    await db["documents"].insert_one({"_id": payload.document_id, **fields})
    return new_event("document.received", payload, service="intake", time=datetime.now(UTC))


async def handle(ctx: ServiceContext, settings: Settings, event: CloudEvent) -> None:
    received = DocumentReceived.model_validate(event.data)
    await on_document_received(ctx, catalog_for(settings), event, received)


@pytest.mark.asyncio
async def test_each_path_of_a_document_received_costs_its_few_commands(
    settings: Settings,
    db: AsyncDatabase,
    counted: tuple[ServiceContext, Commands],
) -> None:
    ctx, commands = counted
    # Under examination: new documents evaluate it again but do not move it.
    application_id = await new_application(db, category="food.other", status="under_examination")
    first = await stored_document(db, application_id)
    second = await stored_document(db, application_id)
    commands.take()

    await handle(ctx, settings, first)
    # (The relay then marks the entry sent, on the context's own client.)
    assert commands.take() == ["aggregate", "bulkWrite", "commitTransaction"]
    [result] = await results_of(db, application_id)
    assert result["caused_by"] == first.id
    assert len(result["document_ids"]) == 2

    await handle(ctx, settings, second)  # the first evaluation saw it already
    assert commands.take() == ["aggregate", "insert"]
    await handle(ctx, settings, first)  # a redelivery
    assert commands.take() == ["aggregate"]

    assert len(await results_of(db, application_id)) == 1
    marks = await db["inbox"].count_documents(
        {"consumer": "validator", "event_id": {"$in": [first.id, second.id]}}
    )
    assert marks == 2
    validated = await db["outbox"].count_documents(
        {"type": "application.validated", "subject": application_id}
    )
    assert validated == 1


@pytest.mark.asyncio
async def test_an_evaluation_that_finds_nothing_changed_writes_only_its_inbox_mark(
    settings: Settings,
    db: AsyncDatabase,
    counted: tuple[ServiceContext, Commands],
) -> None:
    ctx, commands = counted
    application_id = await new_application(db, category="food.other", status="under_examination")
    await handle(ctx, settings, await stored_document(db, application_id))
    cause = CloudEvent(
        source="urn:regwatch:test", type="application.decision", time=datetime.now(UTC), data={}
    )
    commands.take()
    stored = await revalidate(
        ctx, catalog_for(settings), application_id=application_id, cause=cause, progress=False
    )
    assert stored is None
    assert commands.take() == ["aggregate", "insert"]
    assert len(await results_of(db, application_id)) == 1
    assert await db["inbox"].find_one({"consumer": "validator", "event_id": cause.id})
    assert await db["outbox"].count_documents({"event.causationid": cause.id}) == 0


@pytest.mark.asyncio
async def test_a_copy_racing_another_that_holds_the_mark_applies_nothing(
    settings: Settings,
    db: AsyncDatabase,
    counted: tuple[ServiceContext, Commands],
) -> None:
    """The other copy's mark is in a transaction not committed yet: this copy's batch meets
    it, is told to try again (as the consumer does, with backoff), then reads it as applied."""
    ctx, _ = counted
    application_id = await new_application(db, category="food.other", status="under_examination")
    event = await stored_document(db, application_id)
    async with db.client.start_session() as other_copy:
        await other_copy.start_transaction()
        await db["inbox"].insert_one(
            {"consumer": "validator", "event_id": event.id, "at": datetime.now(UTC)},
            session=other_copy,
        )
        racing = asyncio.create_task(
            with_backoff(lambda: handle(ctx, settings, event), what="racing copy")
        )
        await asyncio.sleep(1.0)
        await other_copy.commit_transaction()
    await asyncio.wait_for(racing, 30)
    assert await results_of(db, application_id) == []
    assert await db["inbox"].count_documents({"event_id": event.id}) == 1
    assert await db["outbox"].count_documents({"subject": application_id}) == 0
