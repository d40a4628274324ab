"""What the lifecycle, decision and import tests share: services, documents, HTTP client."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from shared.domain.events import DocumentReceived, new_event
from shared.domain.models import DocumentRecord, new_id
from shared.infra.db import blobs
from shared.infra.runtime import ServiceContext
from shared.infra.unit_of_work import UnitOfWork
from tests.factories import make_application, make_partner
from tests.support import sample_image, sample_pdf, wait_until

OPS = {"Authorization": "Bearer test-ops-token"}
_numbers = itertools.count(1)


@dataclass
class Lifecycle:
    """A validator consuming, and an ops HTTP client on the decision and import routers."""

    validator: ServiceContext
    ops: ServiceContext  # the intake-side context the HTTP routers run in
    http: httpx.AsyncClient


async def new_application(db: AsyncDatabase, **fields: Any) -> str:
    # Each partner needs its own RabbitMQ user name (unique index), even if unused here.
    partner_id = await make_partner(
        db, amqp_user=new_id("lifecycle"), name="Lifecycle test partner"
    )
    # Stored as intake stores it: the expiry date as UTC midnight (BSON has no date type).
    valid_until = fields.pop("registration_valid_until", None)
    application_id = await make_application(db, partner_id, **fields)
    if valid_until is not None:
        await db["applications"].update_one(
            {"_id": application_id}, {"$set": {"registration_valid_until": valid_until}}
        )
    return application_id


async def deliver(
    ctx: ServiceContext,
    application_id: str,
    document_type: str,
    *,
    image: bool = False,
    colour: bool = True,
    **metadata: Any,
) -> str:
    """What intake does for one accepted document: bytes, record and document.received."""
    number = next(_numbers)
    body = (
        sample_image(colour=colour, seed=number)
        if image
        else sample_pdf(f"{document_type} {number} {ObjectId()}")
    )
    content_type = "image/png" if image else "application/pdf"
    now = ctx.clock.now()
    application = await ctx.db["applications"].find_one({"_id": application_id})
    assert application is not None
    record = DocumentRecord(
        _id=new_id("doc"),
        application_id=application_id,
        partner_id=application["partner_id"],
        document_type=document_type,
        filename=f"{document_type}-{number}.{'png' if image else 'pdf'}",
        original_filename=f"{document_type}-{number}",
        declared_content_type=content_type,
        content_type=content_type,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        blob_id=ObjectId(),
        metadata=metadata,
        channel="http",
        received_at=now,
    )
    await blobs(ctx.db).upload_from_stream_with_id(record.blob_id, record.filename, body)
    event = new_event(
        "document.received",
        DocumentReceived(
            document_id=record.id,
            application_id=application_id,
            partner_id=record.partner_id,
            document_type=document_type,
            filename=record.filename,
            content_type=content_type,
            size=record.size,
            sha256=record.sha256,
            metadata=metadata,
            received_at=now,
        ),
        service="intake",
        time=now,
        subject=application_id,
    )

    async def write(uow: UnitOfWork) -> None:
        await uow.db["documents"].insert_one(record.to_mongo(), session=uow.session)
        uow.stage(event)

    await ctx.unit_of_work(write)
    return event.id


async def results_of(db: AsyncDatabase, application_id: str) -> list[dict[str, Any]]:
    cursor = db["validation_results"].find({"application_id": application_id})
    return await cursor.sort("evaluated_at", 1).to_list()


async def wait_for_results(
    db: AsyncDatabase, application_id: str, count: int
) -> list[dict[str, Any]]:
    async def enough() -> bool:
        return len(await results_of(db, application_id)) >= count

    await wait_until(enough, timeout=20)
    return await results_of(db, application_id)


async def wait_for_result_caused_by(
    db: AsyncDatabase, application_id: str, cause_id: str
) -> dict[str, Any]:
    """The validation result the event ``cause_id`` produced, once the validator stored it."""

    async def produced() -> bool:
        return bool(await db["validation_results"].find_one({"caused_by": cause_id}))

    await wait_until(produced, timeout=20)
    result = await db["validation_results"].find_one({"caused_by": cause_id})
    assert result is not None
    assert result["application_id"] == application_id
    return result


async def wait_for_status(db: AsyncDatabase, application_id: str, status: str) -> dict[str, Any]:
    async def reached() -> bool:
        found = await db["applications"].find_one({"_id": application_id}, {"status": 1})
        return bool(found and found["status"] == status)

    await wait_until(reached, timeout=20)
    application = await db["applications"].find_one({"_id": application_id})
    assert application is not None
    return application


async def food_other_complete(ctx: ServiceContext, db: AsyncDatabase, **fields: Any) -> str:
    """A self-registered food application whose three documents are all in: under examination."""
    application_id = await new_application(db, category="food.other", **fields)
    await deliver(ctx, application_id, "application_form", language="zh")
    await deliver(ctx, application_id, "business_licence", language="en", expiry_date="2031-01-01")
    await deliver(ctx, application_id, "compliance_declaration", language="en")
    await wait_for_status(db, application_id, "under_examination")
    return application_id


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


async def decide(lifecycle: Lifecycle, application_id: str, kind: str, **fields: object):
    return await lifecycle.http.post(
        f"/v1/applications/{application_id}/decisions",
        json={"kind": kind, **fields},
        headers=OPS,
    )
