"""The partner AMQP contract through the real broker and database: every edge check as a
rejection reply and ``document.rejected``, duplicate deliveries, dead-lettering with reason."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractChannel, AbstractQueue
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import AutoReconnect

from services.intake import amqp
from services.intake import app as intake_app
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from shared.infra.topology import DEAD_LETTER_EXCHANGE, INTAKE_EXCHANGE, SUBMIT_ROUTING_KEY
from tests.factories import make_application, make_partner
from tests.support import EventTap, next_message, sample_image, sample_pdf

pytestmark = pytest.mark.asyncio(loop_scope="session")
ABSENT = object()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def intake(settings: Settings, db: AsyncDatabase) -> AsyncIterator[ServiceContext]:
    ctx = await intake_app.start(settings)
    yield ctx
    await ctx.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def guest_partner(db: AsyncDatabase) -> str:
    """The partner whose RabbitMQ user is the test session's own (guest)."""
    existing = await db["partners"].find_one({"amqp_user": "guest"})
    return str(existing["_id"]) if existing else await make_partner(db, amqp_user="guest")


@pytest_asyncio.fixture(loop_scope="session")
async def channel(settings: Settings) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        yield await connection.channel(publisher_confirms=True)


async def submit(
    channel: AbstractChannel,
    body: bytes,
    *,
    reply_to: AbstractQueue,
    application_id: Any = ABSENT,
    message_id: str | None = "",
    content_type: str | None = "application/pdf",
    user_id: str | None = "guest",
    **header_changes: Any,
) -> str | None:
    """Publish one submission with the documented properties; ``None`` leaves one out."""
    headers: dict[str, Any] = {
        "x-application-id": application_id,
        "x-document-type": "business_licence",
        "x-filename": "licence.pdf",
        "x-document-meta": json.dumps({"language": "en"}),
    }
    for name, value in header_changes.items():
        headers[f"x-{name.replace('_', '-')}"] = value
    headers = {k: v for k, v in headers.items() if v is not None and v is not ABSENT}
    message_id = str(uuid.uuid4()) if message_id == "" else message_id
    exchange = await channel.get_exchange(INTAKE_EXCHANGE.name)
    await exchange.publish(
        aio_pika.Message(
            body,
            message_id=message_id,
            content_type=content_type,
            user_id=user_id,
            reply_to=reply_to.name,
            correlation_id=f"corr-{uuid.uuid4()}",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers=headers,
        ),
        routing_key=SUBMIT_ROUTING_KEY,
    )
    return message_id


async def reply_of(queue: AbstractQueue) -> dict[str, Any]:
    return json.loads((await next_message(queue, timeout=30)).body)


async def blob_count(db: AsyncDatabase) -> int:
    return await db["document_blobs.files"].count_documents({})


async def test_submission_is_stored_and_answered(
    intake: ServiceContext,
    guest_partner: str,
    channel: AbstractChannel,
    settings: Settings,
    db: AsyncDatabase,
) -> None:
    application_id = await make_application(db, guest_partner)
    replies = await channel.declare_queue(exclusive=True)
    body = sample_pdf(f"amqp {uuid.uuid4()}")
    async with EventTap(settings.amqp_url) as tap:
        await submit(
            channel,
            body,
            reply_to=replies,
            application_id=application_id,
            filename="C:\\scans\\licence.pdf",
            document_meta=json.dumps({"issue_date": "2024-02-01", "notarized": True}),
        )
        answer = await reply_of(replies)
        received = await tap.wait_for("document.received", application_id=application_id)
    assert answer["status"] == "accepted"
    assert answer["errors"] == []
    document = await db["documents"].find_one({"_id": answer["document_id"]})
    assert document["filename"] == "licence.pdf"
    assert document["original_filename"] == "C:\\scans\\licence.pdf"
    assert document["metadata"] == {"issue_date": "2024-02-01", "notarized": True}
    assert document["channel"] == "amqp"
    assert document["partner_id"] == guest_partner
    assert received[0]["data"]["document_id"] == answer["document_id"]


CORRUPT_PDF = b"%PDF-1.4\n" + b"\x13not really a pdf" * 200
# A missing message_id cannot be sent with aio-pika (aiormq fills one in); the unit tests
# of parse_envelope cover it.
REFUSALS: list[tuple[str, bytes, dict[str, Any], str]] = [
    ("no content_type", sample_pdf("b"), {"content_type": None}, "missing_content_type"),
    ("no user_id", sample_pdf("c"), {"user_id": None}, "missing_user_id"),
    ("no application", sample_pdf("d"), {"application_id": None}, "missing_header"),
    ("no document type", sample_pdf("e"), {"document_type": None}, "missing_header"),
    ("no filename", sample_pdf("f"), {"filename": None}, "missing_header"),
    ("number as type", sample_pdf("g"), {"document_type": 42}, "bad_header"),
    ("bad meta json", sample_pdf("h"), {"document_meta": "{nope"}, "bad_metadata"),
    ("bad meta field", sample_pdf("i"), {"document_meta": '{"year": "last"}'}, "bad_metadata"),
    ("empty body", b"", {}, "empty_body"),
    ("mismatch", sample_image("JPEG"), {}, "content_type_mismatch"),
    ("json body", b"{not json", {"content_type": "application/json"}, "unsupported_type"),
    ("zip", b"PK\x03\x04" + b"\x00" * 40, {"content_type": "application/zip"}, "unsupported_type"),
    ("corrupt pdf", CORRUPT_PDF, {}, "corrupt_file"),
    ("corrupt tiff", sample_image("TIFF")[:50], {"content_type": "image/tiff"}, "corrupt_file"),
    ("control chars", sample_pdf("j"), {"filename": "\x00\x1b\x7f"}, "bad_filename"),
    (
        "unknown application",
        sample_pdf("k"),
        {"application_id": "app_missing"},
        "unknown_application",
    ),
    ("unknown type", sample_pdf("l"), {"document_type": "Mystery Scroll"}, "unknown_document_type"),
    (
        "type not in catalog",
        sample_pdf("m"),
        {"document_type": "passport_scan"},
        "unknown_document_type",
    ),
]


@pytest.mark.parametrize(
    ("body", "changes", "code"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
async def test_refused_submission_is_answered_stores_nothing_and_is_published(
    intake: ServiceContext,
    guest_partner: str,
    channel: AbstractChannel,
    settings: Settings,
    db: AsyncDatabase,
    body: bytes,
    changes: dict[str, Any],
    code: str,
) -> None:
    application_id = await make_application(db, guest_partner)
    replies = await channel.declare_queue(exclusive=True)
    before = await blob_count(db)
    async with EventTap(settings.amqp_url, "document.rejected") as tap:
        message_id = await submit(
            channel, body, reply_to=replies, **{"application_id": application_id, **changes}
        )
        answer = await reply_of(replies)
        await tap.wait_for("document.rejected", message_id=message_id)
    assert answer["status"] == "rejected"
    assert answer["document_id"] is None
    assert [e["code"] for e in answer["errors"]] == [code]
    assert answer["errors"][0]["message"]
    rejected = tap.of_type("document.rejected", message_id=message_id)
    assert rejected[0]["data"]["errors"][0]["code"] == code
    assert await db["documents"].count_documents({"application_id": application_id}) == 0
    assert await blob_count(db) == before


async def test_body_over_the_size_limit_is_refused(
    intake: ServiceContext, guest_partner: str, channel: AbstractChannel, db: AsyncDatabase
) -> None:
    application_id = await make_application(db, guest_partner)
    replies = await channel.declare_queue(exclusive=True)
    body = sample_pdf("huge") + b" " * (intake.settings.max_document_bytes + 1)
    await submit(channel, body, reply_to=replies, application_id=application_id)
    answer = await reply_of(replies)
    assert [e["code"] for e in answer["errors"]] == ["too_large"]
    assert await db["documents"].count_documents({"application_id": application_id}) == 0


async def test_another_partners_application_is_unknown(
    intake: ServiceContext, guest_partner: str, channel: AbstractChannel, db: AsyncDatabase
) -> None:
    other = await make_partner(db, name="Someone else")
    application_id = await make_application(db, other)
    replies = await channel.declare_queue(exclusive=True)
    await submit(channel, sample_pdf("intrusion"), reply_to=replies, application_id=application_id)
    answer = await reply_of(replies)
    assert [e["code"] for e in answer["errors"]] == ["unknown_application"]
    assert await db["documents"].count_documents({"application_id": application_id}) == 0


async def test_second_delivery_of_same_message_creates_one_document(
    intake: ServiceContext,
    guest_partner: str,
    channel: AbstractChannel,
    settings: Settings,
    db: AsyncDatabase,
) -> None:
    application_id = await make_application(db, guest_partner)
    replies = await channel.declare_queue(exclusive=True)
    body = sample_pdf(f"twice {uuid.uuid4()}")
    message_id = str(uuid.uuid4())
    async with EventTap(settings.amqp_url) as tap:
        for _ in range(2):
            await submit(
                channel,
                body,
                reply_to=replies,
                application_id=application_id,
                message_id=message_id,
            )
        first, second = await reply_of(replies), await reply_of(replies)
        await tap.wait_for("document.received", application_id=application_id)
        # A resend with another message id but the same file is a duplicate as well.
        await submit(channel, body, reply_to=replies, application_id=application_id)
        third = await reply_of(replies)
    # Two consumers may handle the two copies at once: either reply may come first.
    assert sorted([first["status"], second["status"]]) == ["accepted", "duplicate"]
    assert third["status"] == "duplicate"
    assert first["document_id"] == second["document_id"] == third["document_id"]
    assert len(tap.of_type("document.received", application_id=application_id)) == 1
    assert await db["documents"].count_documents({"application_id": application_id}) == 1


async def test_redelivery_after_a_failure_past_the_write_has_one_effect(
    intake: ServiceContext,
    guest_partner: str,
    channel: AbstractChannel,
    settings: Settings,
    db: AsyncDatabase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The write succeeds, then the handler dies before the ack: the broker redelivers."""
    application_id = await make_application(db, guest_partner)
    original = amqp.handle_submission
    failed: list[str] = []

    async def crash_after_write(ctx: ServiceContext, message: Any) -> Any:
        outcome = await original(ctx, message)
        if not failed:
            failed.append(outcome.status)
            raise ConnectionError("lost the channel after the write")
        return outcome

    monkeypatch.setattr(amqp, "handle_submission", crash_after_write)
    replies = await channel.declare_queue(exclusive=True)
    async with EventTap(settings.amqp_url) as tap:
        await submit(
            channel,
            sample_pdf(f"redeliver {uuid.uuid4()}"),
            reply_to=replies,
            application_id=application_id,
        )
        answer = await reply_of(replies)
        await tap.wait_for("document.received", application_id=application_id)
    assert failed == ["accepted"]
    assert answer["status"] == "duplicate"
    assert len(tap.of_type("document.received", application_id=application_id)) == 1
    assert await db["documents"].count_documents({"application_id": application_id}) == 1


async def test_message_that_keeps_failing_is_dead_lettered_with_its_reason(
    intake: ServiceContext,
    guest_partner: str,
    channel: AbstractChannel,
    db: AsyncDatabase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doomed = await make_application(db, guest_partner)
    healthy = await make_application(db, guest_partner)
    original = amqp.submit_document

    async def failing(ctx: ServiceContext, submission: Any, source: Any) -> Any:
        if submission.application_id == doomed:
            raise RuntimeError("database on fire")
        return await original(ctx, submission, source)

    monkeypatch.setattr(amqp, "submit_document", failing)
    dlx = await channel.get_exchange(DEAD_LETTER_EXCHANGE.name)
    dead = await channel.declare_queue(exclusive=True)
    await dead.bind(dlx)
    replies = await channel.declare_queue(exclusive=True)
    message_id = await submit(
        channel, sample_pdf("doomed"), reply_to=replies, application_id=doomed
    )
    await submit(
        channel, sample_pdf(f"fine {uuid.uuid4()}"), reply_to=replies, application_id=healthy
    )
    answer = await reply_of(replies)
    letter = await next_message(dead, timeout=30)
    headers = letter.headers
    assert answer["status"] == "accepted"  # the queue was not blocked
    assert letter.message_id == message_id
    assert "RuntimeError: database on fire" in str(headers["x-first-death-reason"])
    assert headers["x-first-death-queue"] == "regwatch.intake.documents"
    assert headers["x-regwatch-user-id"] == "guest"
    assert await db["documents"].count_documents({"application_id": doomed}) == 0


async def test_database_outage_is_waited_out_without_spending_deliveries(
    intake: ServiceContext,
    guest_partner: str,
    channel: AbstractChannel,
    db: AsyncDatabase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    application_id = await make_application(db, guest_partner)
    original = amqp.submit_document
    outages: list[int] = []

    async def flaky(ctx: ServiceContext, submission: Any, source: Any) -> Any:
        if submission.application_id == application_id and len(outages) < 4:
            outages.append(1)  # more outages than the queue's delivery limit (3)
            raise AutoReconnect("127.0.0.1: connection refused")
        return await original(ctx, submission, source)

    monkeypatch.setattr(amqp, "submit_document", flaky)
    replies = await channel.declare_queue(exclusive=True)
    await submit(
        channel,
        sample_pdf(f"outage {uuid.uuid4()}"),
        reply_to=replies,
        application_id=application_id,
    )
    answer = await reply_of(replies)
    assert len(outages) == 4
    assert answer["status"] == "accepted"
    assert await db["documents"].count_documents({"application_id": application_id}) == 1
