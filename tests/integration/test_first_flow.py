"""The first flow: a partner publishes a document over AMQP -> intake stores it ->
validator evaluates the application -> application.validated is published."""

from __future__ import annotations

import json
import uuid

import aio_pika
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.infra.db import blobs
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from shared.infra.topology import INTAKE_EXCHANGE, SUBMIT_ROUTING_KEY
from tests.factories import make_application, make_partner
from tests.support import EventTap, next_message, sample_pdf


async def publish_as_partner(
    amqp_url: str, body: bytes, *, application_id: str, message_id: str, reply_to: str | None
) -> None:
    """What a partner's system does: plain aio-pika, the documented properties and headers."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(INTAKE_EXCHANGE.name)
        await exchange.publish(
            aio_pika.Message(
                body,
                message_id=message_id,
                content_type="application/pdf",
                user_id="guest",
                reply_to=reply_to,
                correlation_id=f"corr-{message_id}",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers={
                    "x-application-id": application_id,
                    "x-document-type": "business_registration",
                    "x-filename": "licence.pdf",
                    "x-document-meta": json.dumps({"language": "en"}),
                },
            ),
            routing_key=SUBMIT_ROUTING_KEY,
        )


@pytest.mark.asyncio
async def test_document_published_by_partner_is_stored_and_validated(
    settings: Settings, db: AsyncDatabase, services: list[ServiceContext]
) -> None:
    partner_id = await db["partners"].find_one({"amqp_user": "guest"})
    partner_id = partner_id["_id"] if partner_id else await make_partner(db, amqp_user="guest")
    application_id = await make_application(db, partner_id, category="scrap.metal", product=None)
    body = sample_pdf(f"licence {uuid.uuid4()}")
    message_id = str(uuid.uuid4())

    async with EventTap(settings.amqp_url) as tap:
        connection = await aio_pika.connect(settings.amqp_url)
        async with connection:
            channel = await connection.channel()
            replies = await channel.declare_queue(exclusive=True)
            await publish_as_partner(
                settings.amqp_url,
                body,
                application_id=application_id,
                message_id=message_id,
                reply_to=replies.name,
            )
            reply = await next_message(replies)
            answer = json.loads(reply.body)
            assert reply.correlation_id == f"corr-{message_id}"
            received = await tap.wait_for("document.received", application_id=application_id)
            validated = await tap.wait_for("application.validated", application_id=application_id)

    document = await db["documents"].find_one({"application_id": application_id})
    assert document is not None
    assert answer == {"status": "accepted", "document_id": document["_id"], "errors": []}
    assert document["sha256"] == received[0]["data"]["sha256"]
    assert document["content_type"] == "application/pdf"
    stored = await (await blobs(db).open_download_stream(document["blob_id"])).read()
    assert stored == body

    result = await db["validation_results"].find_one({"application_id": application_id})
    assert result is not None
    assert result["_id"] == validated[0]["data"]["validation_id"]
    # A scrap.metal application today meets the 2021 solid-waste import ban: refused.
    assert [o["rule"] for o in result["outcomes"]] == [
        "category",
        "regime_in_force",
        "file_type",
        "photos_are_images",
    ]
    assert validated[0]["causationid"] == received[0]["id"]
    assert received[0]["specversion"] == "1.0"
    assert received[0]["correlationid"] == f"corr-{message_id}"
