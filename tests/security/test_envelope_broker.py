"""Hostile envelopes through the real broker and intake: every message gets one reply,
accepted or a specific rejection, none crashes the consumer or vanishes; what is stored
carries no line break or bidi control in its name or metadata."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo.asynchronous.database import AsyncDatabase

from services.intake import app as intake_app
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from shared.infra.topology import INTAKE_EXCHANGE, SUBMIT_ROUTING_KEY
from tests.factories import make_application, make_partner
from tests.security.hostile_input import (
    ENVELOPE_CODES,
    assert_one_clean_line,
    hostile_text,
    metadata_strategy,
)
from tests.support import next_message, sample_pdf

# Codes a well-formed message can still earn once its application and bytes are looked at.
SUBMISSION_CODES = ENVELOPE_CODES | {"unknown_application", "unknown_document_type"}

envelopes = st.fixed_dictionaries(
    {
        "filename": hostile_text,
        # An AMQP header table must fit one frame (128 KiB): nesting stays below that.
        "metadata": st.none() | metadata_strategy(max_depth=20_000),
        "document_type": st.sampled_from(["business_licence"]) | hostile_text,
        "own_application": st.booleans(),
        "application_id": hostile_text,
    }
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def intake(settings: Settings, db: AsyncDatabase) -> AsyncIterator[ServiceContext]:
    ctx = await intake_app.start(settings)
    yield ctx
    await ctx.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def application_id(db: AsyncDatabase) -> str:
    existing = await db["partners"].find_one({"amqp_user": "guest"})
    partner = str(existing["_id"]) if existing else await make_partner(db, amqp_user="guest")
    return await make_application(db, partner)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def channel(settings: Settings) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        yield await connection.channel(publisher_confirms=True)


@pytest.mark.asyncio(loop_scope="session")
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(envelopes, min_size=1, max_size=6))
async def test_every_hostile_envelope_is_answered_and_stores_only_clean_names(
    intake: ServiceContext,
    db: AsyncDatabase,
    application_id: str,
    channel: aio_pika.abc.AbstractChannel,
    batch: list[dict[str, Any]],
) -> None:
    replies = await channel.declare_queue(exclusive=True)
    exchange = await channel.get_exchange(INTAKE_EXCHANGE.name)
    sent = set()
    for envelope in batch:
        message_id = str(uuid.uuid4())
        headers = {
            "x-application-id": application_id
            if envelope["own_application"]
            else envelope["application_id"],
            "x-document-type": envelope["document_type"],
            "x-filename": envelope["filename"],
        }
        if envelope["metadata"] is not None:
            headers["x-document-meta"] = envelope["metadata"]
        await exchange.publish(
            aio_pika.Message(
                sample_pdf(message_id),  # distinct bytes: no duplicate of an earlier example
                message_id=message_id,
                correlation_id=message_id,
                content_type="application/pdf",
                user_id="guest",
                reply_to=replies.name,
                headers=headers,
            ),
            routing_key=SUBMIT_ROUTING_KEY,
        )
        sent.add(message_id)
    answers: dict[str, dict[str, Any]] = {}
    while len(answers) < len(sent):
        reply = await next_message(replies, timeout=30)
        answers[str(reply.correlation_id)] = json.loads(reply.body)
    await replies.delete()
    assert set(answers) == sent  # one reply each, none for a message not sent
    for answer in answers.values():
        if answer["status"] == "rejected":
            assert [e["code"] for e in answer["errors"]][0] in SUBMISSION_CODES, answer
            continue
        assert answer["status"] == "accepted", answer
        stored = await db["documents"].find_one({"_id": answer["document_id"]})
        assert_one_clean_line(stored["filename"])
        for value in stored["metadata"].values():
            if isinstance(value, str):
                assert_one_clean_line(value)
