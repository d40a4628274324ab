"""Documents through the broker -> validation results, lifecycle moves, deadlines, events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import aio_pika
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.validator.app import catalog_for
from services.validator.handlers import on_document_received
from shared.domain.events import CloudEvent, DocumentReceived
from shared.infra.settings import Settings
from shared.infra.topology import EVENTS_EXCHANGE
from tests.integration.lifecycle_support import (
    Lifecycle,
    deliver,
    new_application,
    results_of,
    wait_for_results,
    wait_for_status,
)
from tests.support import EventTap, wait_until


@pytest.mark.asyncio
async def test_complete_documents_move_the_application_to_examination(
    settings: Settings, db: AsyncDatabase, lifecycle: Lifecycle
) -> None:
    ctx = lifecycle.ops
    application_id = await new_application(db, category="food.other")
    async with EventTap(settings.amqp_url) as tap:
        await deliver(ctx, application_id, "application_form", language="zh")
        await wait_for_results(db, application_id, 1)
        await deliver(
            ctx, application_id, "business_licence", language="en", expiry_date="2031-01-01"
        )
        await wait_for_results(db, application_id, 2)
        await deliver(ctx, application_id, "compliance_declaration", language="en")
        application = await wait_for_status(db, application_id, "under_examination")
        changed = await tap.wait_for("application.status_changed", application_id=application_id)
        validated = await tap.wait_for("application.validated", 3, application_id=application_id)

    results = await results_of(db, application_id)
    assert [r["verdict"] for r in results] == ["incomplete", "incomplete", "complete"]
    assert results[0]["missing"] == [
        "business licence (1 required)",
        "declaration of compliance (1 required)",
    ]
    assert results[1]["missing"] == ["declaration of compliance (1 required)"]
    assert all(r["catalog_version"] == "2026.12.2" for r in results)
    assert results[-1]["regime"] == "gacc_decree_280"
    assert [v["data"]["verdict"] for v in validated] == ["incomplete", "incomplete", "complete"]

    [entry] = application["history"]
    assert (entry["from_status"], entry["to_status"], entry["actor"], entry["trigger"]) == (
        "submitted", "under_examination", "validator", "documents_complete",
    )  # fmt: skip
    assert changed[0]["data"]["to_status"] == "under_examination"
    assert changed[0]["causationid"] == validated[-1]["causationid"]

    processing = await db["deadlines"].find_one({"_id": f"dl_processing_{application_id}"})
    assert processing is not None
    assert processing["status"] == "open"
    assert processing["due_at"] == application["created_at"] + timedelta(days=30)
    assert "10-30 days" in processing["source"]


@pytest.mark.asyncio
async def test_redelivered_document_event_changes_and_publishes_nothing(
    settings: Settings, db: AsyncDatabase, lifecycle: Lifecycle
) -> None:
    application_id = await new_application(db, category="food.other")
    event_id = await deliver(lifecycle.ops, application_id, "application_form", language="zh")
    await wait_for_results(db, application_id, 1)
    entry = await db["outbox"].find_one({"_id": event_id})
    assert entry is not None
    async with EventTap(settings.amqp_url) as tap:
        connection = await aio_pika.connect(settings.amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(EVENTS_EXCHANGE.name)
            for _ in range(2):
                await exchange.publish(
                    aio_pika.Message(json.dumps(entry["event"]).encode(), message_id=event_id),
                    routing_key="document.received",
                )
        await tap.wait_for("document.received", 2, application_id=application_id)
        # Give the validator time to (not) act on both copies.
        await wait_until(
            lambda: len(tap.of_type("document.received", application_id=application_id)) == 2
        )
        inbox = await db["inbox"].count_documents({"consumer": "validator", "event_id": event_id})
        assert inbox == 1
        await _settle(db)
        assert tap.of_type("application.validated", application_id=application_id) == []
    assert len(await results_of(db, application_id)) == 1


async def _settle(db: AsyncDatabase) -> None:
    """Wait until the validator's queue is drained (its inbox stops growing)."""
    import asyncio

    last = -1
    while True:
        count = await db["inbox"].count_documents({"consumer": "validator"})
        if count == last:
            return
        last = count
        await asyncio.sleep(0.5)


@pytest.mark.asyncio
async def test_scrap_application_after_the_ban_is_refused_with_the_reason(
    db: AsyncDatabase, lifecycle: Lifecycle
) -> None:
    application_id = await new_application(db, category="scrap.plastics")
    await deliver(lifecycle.ops, application_id, "application_form", language="zh")
    application = await wait_for_status(db, application_id, "refused")
    [result] = await results_of(db, application_id)
    assert result["verdict"] == "refused"
    assert result["regime"] is None
    [entry] = application["history"]
    assert entry["actor"] == "validator"
    assert entry["trigger"] == "catalog_refused"
    assert "banned all imports of solid waste since 2021-01-01" in entry["reason"]
    assert await db["deadlines"].count_documents({"subject": application_id}) == 0


@pytest.mark.asyncio
async def test_greyscale_certificate_copy_is_detected_from_the_stored_image(
    db: AsyncDatabase, lifecycle: Lifecycle
) -> None:
    # A scrap renewal from before the ban: the colour rule reads the image bytes in GridFS.
    from tests.integration.lifecycle_support import utc

    application_id = await new_application(
        db,
        category="scrap.metal",
        kind="renewal",
        created_at=utc(2019, 3, 1),
        registration_number="AQSIQ-A0001",
        registration_valid_until=utc(2020, 6, 30),
    )
    await deliver(lifecycle.ops, application_id, "certificate_copy", image=True, colour=False)
    [result] = await wait_for_results(db, application_id, 1)
    outcome = next(o for o in result["outcomes"] if o["rule"] == "certificate_copy_in_colour")
    assert not outcome["passed"]
    assert "is a greyscale image; a colour copy is required" in outcome["message"]
    await deliver(lifecycle.ops, application_id, "certificate_copy", image=True, colour=True)
    results = await wait_for_results(db, application_id, 2)
    outcome = next(o for o in results[-1]["outcomes"] if o["rule"] == "certificate_copy")
    assert outcome["message"].startswith(
        "2 colour copies of the AQSIQ certificate received, at most 1"
    )
    assert await db["image_measures"].count_documents({}) >= 2


@pytest.mark.asyncio
async def test_document_already_seen_by_an_earlier_evaluation_is_not_evaluated_again(
    settings: Settings, db: AsyncDatabase, lifecycle: Lifecycle
) -> None:
    application_id = await new_application(db, category="food.other")
    first = await deliver(lifecycle.ops, application_id, "application_form", language="zh")
    [result] = await wait_for_results(db, application_id, 1)
    document_id = result["document_ids"][0]
    # A second delivery of the same document's event, as if it had arrived together with
    # the first one: the latest result covers it, so nothing is evaluated or published.
    original = await db["outbox"].find_one({"_id": first})
    assert original is not None
    received = DocumentReceived.model_validate(original["event"]["data"])
    assert received.document_id == document_id
    copy = CloudEvent(
        source="urn:regwatch:intake",
        type="document.received",
        time=datetime.now(UTC),
        subject=application_id,
        data=received.model_dump(mode="json"),
    )
    await on_document_received(lifecycle.validator, catalog_for(settings), copy, received)
    assert len(await results_of(db, application_id)) == 1
    assert await db["inbox"].find_one({"consumer": "validator", "event_id": copy.id})
    assert first != copy.id
