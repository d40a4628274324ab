"""The notifier with the real broker, database and an SMTP sink of its own that the tests
stop and start: each (event, recipient) is sent once, whatever happens."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from devtools.clock import ManualClock
from devtools.local_infra import free_port
from devtools.smtp_sink import start_sink
from services.notifier import app as notifier_app
from shared.app.registrations import new_registration
from shared.domain.events import (
    ApplicationStatusChanged,
    CloudEvent,
    DeadlineEvent,
    RegistrationStatusChanged,
    new_event,
)
from shared.domain.models import Application, Exporter, new_id
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from shared.infra.topology import DEAD_LETTER_EXCHANGE
from tests.integration.deadline_support import (
    body_text,
    isolated_settings,
    mails_to,
    publish_event,
    subject_of,
)
from tests.support import EventTap, wait_until

NOW = datetime(2031, 6, 1, 9, 0, tzinfo=UTC)
CLOCK = ManualClock(NOW)


class Sink:
    """An SMTP sink on a port of our own, which the tests can take down and bring back."""

    def __init__(self) -> None:
        self.port = free_port()
        self.maildir = Path(tempfile.mkdtemp(prefix="regwatch-notifier-mail-")) / "mail"
        self._controller: Any = None

    def up(self) -> None:
        self._controller = start_sink("127.0.0.1", self.port, self.maildir)
        for sub in ("tmp", "new", "cur"):  # see deadline_support.ensure_maildir
            (self.maildir / sub).mkdir(exist_ok=True)

    def down(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    sink = Sink()
    sink.up()
    yield sink
    sink.down()


@pytest.fixture(scope="module")
def iso(settings: Settings, sink: Sink) -> Iterator[Settings]:
    with isolated_settings(
        settings,
        smtp_port=sink.port,
        smtp_timeout_seconds=2.0,
        smtp_retry_attempts=6,
        smtp_retry_base_seconds=0.2,
        smtp_retry_max_seconds=1.0,
        outbox_poll_seconds=0.2,
    ) as isolated:
        yield isolated


@pytest_asyncio.fixture(scope="module")
async def notifier(iso: Settings, iso_db: AsyncDatabase) -> AsyncIterator[ServiceContext]:
    ctx = await notifier_app.start(iso, CLOCK)
    yield ctx
    await ctx.close()


def contacts(*names: str) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    return [f"{name}-{tag}@exporter.example" for name in names]


def reminder(emails: list[str], days_left: int = 7) -> CloudEvent:
    payload = DeadlineEvent(
        deadline_id="dl_test",
        reminder_id=f"dl_test:{uuid.uuid4().hex[:6]}",
        kind="additional_materials",
        subject="app_test",
        application_id="app_test",
        exporter_name="Nordic Scrap AB",
        product="Copper scrap",
        contact_emails=emails,
        due_at=NOW + timedelta(days=days_left),
        days_left=days_left,
        missing=["CCIC certificate for copper, 2029"],
    )
    return new_event(
        "deadline.additional_materials_due",
        payload,
        service="scheduler",
        time=NOW,
        subject="app_test",
        event_id=f"reminder:{uuid.uuid4().hex}",
    )


async def first_message(queue: aio_pika.abc.AbstractQueue) -> aio_pika.abc.AbstractIncomingMessage:
    """The first message to reach ``queue``: the notifier dead-letters an event only after
    it has published the event's ``notification.failed``, so the two race."""
    got: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def arrived() -> bool:
        message = await queue.get(fail=False)
        if message is not None:
            got.append(message)
        return bool(got)

    await wait_until(arrived, timeout=10)
    return got[0]


async def deliveries_of(db: AsyncDatabase, event_id: str) -> dict[str, dict[str, Any]]:
    found = await db["deliveries"].find({"event_id": event_id}).to_list()
    return {d["recipient"]: d for d in found}


@pytest.mark.asyncio
async def test_redelivered_event_is_sent_once_to_each_contact(
    iso: Settings, iso_db: AsyncDatabase, sink: Sink, notifier: ServiceContext
) -> None:
    emails = contacts("anna", "bo")
    event = reminder(emails)
    async with EventTap(iso.amqp_url, "notification.#") as tap:
        await publish_event(iso.amqp_url, event)
        await publish_event(iso.amqp_url, event)  # the relay republished it after a crash
        await tap.wait_for("notification.sent", count=2, event_id=event.id)
        await asyncio.sleep(1.0)
    mails = mails_to(sink.maildir, set(emails))
    assert sorted(m["To"] for m in mails) == sorted(emails)
    assert subject_of(mails[0]) == (
        "Additional materials due in 7 days: Nordic Scrap AB, application app_test (by 08 June 2031)"
    )
    assert "  - CCIC certificate for copper, 2029" in body_text(mails[0])
    assert len(tap.of_type("notification.sent", event_id=event.id)) == 2
    assert {d["status"] for d in (await deliveries_of(iso_db, event.id)).values()} == {"sent"}


@pytest.mark.asyncio
async def test_refused_address_fails_only_that_recipient(
    iso: Settings, iso_db: AsyncDatabase, sink: Sink, notifier: ServiceContext
) -> None:
    [good] = contacts("good")
    bad = f"nobody-{uuid.uuid4().hex[:6]}@exporter.invalid"
    event = reminder([bad, good])
    async with EventTap(iso.amqp_url, "notification.#") as tap:
        await publish_event(iso.amqp_url, event)
        failed = await tap.wait_for("notification.failed", event_id=event.id)
        await tap.wait_for("notification.sent", event_id=event.id)
    assert [m["To"] for m in mails_to(sink.maildir, {good, bad})] == [good]
    assert failed[0]["data"]["recipient"] == bad
    assert "550" in failed[0]["data"]["reason"]
    records = await deliveries_of(iso_db, event.id)
    assert (records[bad]["status"], records[good]["status"]) == ("refused", "sent")


@pytest.mark.asyncio
async def test_smtp_down_then_back_delivers_every_email_once(
    iso: Settings, iso_db: AsyncDatabase, sink: Sink, notifier: ServiceContext
) -> None:
    emails = contacts("carl", "dora")
    events = [reminder(emails, days_left=d) for d in (14, 7, 3)]
    sink.down()
    try:
        for event in events:
            await publish_event(iso.amqp_url, event)
        await wait_until(
            lambda: iso_db["deliveries"].count_documents(
                {"event_id": events[0].id, "attempts": {"$gte": 1}}
            ),
            timeout=10,
        )
        await asyncio.sleep(0.5)
    finally:
        sink.up()
    await wait_until(lambda: len(mails_to(sink.maildir, set(emails))) >= 6, timeout=30)
    await asyncio.sleep(1.0)
    mails = mails_to(sink.maildir, set(emails))
    assert len(mails) == len({(m["To"], m["X-Regwatch-Event-Id"]) for m in mails}) == 6
    first = await deliveries_of(iso_db, events[0].id)
    assert {d["status"] for d in first.values()} == {"sent"}
    assert all(d["attempts"] >= 2 for d in first.values())  # it did fail before


@pytest.mark.asyncio
async def test_smtp_down_for_good_dead_letters_with_the_reason_and_a_replay_sends_once(
    iso: Settings, iso_db: AsyncDatabase, sink: Sink, notifier: ServiceContext
) -> None:
    emails = contacts("erik")
    event = reminder(emails)
    connection = await aio_pika.connect(iso.amqp_url)
    async with connection, EventTap(iso.amqp_url, "notification.#") as tap:
        channel = await connection.channel()
        dlx = await channel.get_exchange(DEAD_LETTER_EXCHANGE.name)
        watch = await channel.declare_queue(exclusive=True)
        await watch.bind(dlx)
        sink.down()
        try:
            await publish_event(iso.amqp_url, event)
            failed = await tap.wait_for("notification.failed", event_id=event.id, timeout=30)
            dead = await first_message(watch)
        finally:
            sink.up()
        assert dead.message_id == event.id
        assert dead.headers["x-first-death-queue"] == "regwatch.notifier.events"
        assert "failed 6 times" in dead.headers["x-first-death-reason"]
        assert failed[0]["data"]["recipient"] == emails[0]
        assert (await deliveries_of(iso_db, event.id))[emails[0]]["status"] == "failed"
        assert mails_to(sink.maildir, set(emails)) == []

        # Ops replay the dead letter twice: the email goes out once.
        for _ in range(2):
            await channel.default_exchange.publish(
                aio_pika.Message(dead.body, message_id=event.id, headers=dict(dead.headers)),
                routing_key="regwatch.notifier.events",
            )
        await tap.wait_for("notification.sent", event_id=event.id)
        await asyncio.sleep(1.0)
    assert [m["To"] for m in mails_to(sink.maildir, set(emails))] == emails


async def stored_application(
    db: AsyncDatabase, emails: list[str], *, kind: str, status: str
) -> Application:
    application = Application(
        _id=new_id("app"),
        partner_id="ptn_test",
        exporter=Exporter(name="Fjord Dairy AS", country="NO", contact_emails=emails),
        category="food.dairy",
        product="Cheese",
        kind=kind,  # type: ignore[arg-type]
        registration_number="CHN-DAIRY-0042" if kind == "renewal" else None,
        status=status,
        created_at=NOW,
        updated_at=NOW,
    )
    await db["applications"].insert_one(application.model_dump(by_alias=True))
    return application


@pytest.mark.asyncio
async def test_rectification_request_by_ops_is_emailed_with_its_due_date(
    iso: Settings, iso_db: AsyncDatabase, sink: Sink, notifier: ServiceContext
) -> None:
    emails = contacts("fia")
    application = await stored_application(
        iso_db, emails, kind="new", status="rectification_requested"
    )
    await iso_db["deadlines"].insert_one(
        {
            "_id": new_id("dl"),
            "kind": "rectification",
            "subject": application.id,
            "status": "open",
            "due_at": NOW + timedelta(days=30),
        }
    )
    change = ApplicationStatusChanged(
        application_id=application.id,
        from_status="accepted",
        to_status="rectification_requested",
        actor="ops",
        reason="The floor plan does not give sizes",
        at=NOW,
    )
    event = new_event(
        "application.status_changed", change, service="validator", time=NOW, subject=application.id
    )
    await publish_event(iso.amqp_url, event)
    await wait_until(lambda: len(mails_to(sink.maildir, set(emails))) >= 1)
    [mail] = mails_to(sink.maildir, set(emails))
    assert (
        subject_of(mail)
        == f"Rectification requested for application {application.id} (Fjord Dairy AS)"
    )
    text = body_text(mail)
    assert "Its reason: The floor plan does not give sizes" in text
    assert "Reply by: 01 July 2031 (30 days left)" in text


@pytest.mark.asyncio
async def test_renewal_not_accepted_while_the_window_is_open_is_emailed_with_the_window_close(
    iso: Settings, sink: Sink, notifier: ServiceContext
) -> None:
    emails = contacts("gry", "hal")
    change = RegistrationStatusChanged(
        registration_id=new_id("reg"),
        registration_number="CHN-DAIRY-0042",
        from_status="renewal_filed",
        to_status="renewal_open",
        trigger="renewal_rejected",
        actor="validator",
        reason="The declaration of compliance is not signed",
        at=NOW,
        application_id="app_renewal",
        category="food.dairy",
        product="Cheese",
        exporter_name="Fjord Dairy AS",
        contact_emails=emails,
        valid_until=date(2031, 8, 31),
        window_opens_on=date(2031, 3, 1),
        window_closes_on=date(2031, 6, 30),
    )
    event = new_event(
        "registration.status_changed",
        change,
        service="validator",
        time=NOW,
        subject="CHN-DAIRY-0042",
    )
    await publish_event(iso.amqp_url, event)
    await wait_until(lambda: len(mails_to(sink.maildir, set(emails))) >= 2)
    mails = mails_to(sink.maildir, set(emails))
    assert sorted(m["To"] for m in mails) == sorted(emails)
    assert subject_of(mails[0]) == (
        "Renewal not accepted, the window is open until 30 June 2031: Fjord Dairy AS,"
        " registration CHN-DAIRY-0042"
    )
    text = body_text(mails[0])
    assert "Its reason: The declaration of compliance is not signed" in text
    assert "still open until 30 June 2031" in text


@pytest.mark.asyncio
async def test_refused_renewal_application_is_emailed_with_what_to_do_instead(
    iso: Settings, iso_db: AsyncDatabase, sink: Sink, notifier: ServiceContext
) -> None:
    emails = contacts("ida")
    application = await stored_application(iso_db, emails, kind="renewal", status="refused")
    change = ApplicationStatusChanged(
        application_id=application.id,
        from_status="submitted",
        to_status="refused",
        actor="validator",
        reason="The renewal window closed on 30 June 2031",
        at=NOW,
    )
    event = new_event(
        "application.status_changed", change, service="validator", time=NOW, subject=application.id
    )
    await publish_event(iso.amqp_url, event)
    await wait_until(lambda: len(mails_to(sink.maildir, set(emails))) >= 1)
    [mail] = mails_to(sink.maildir, set(emails))
    assert subject_of(mail) == f"Renewal refused: application {application.id} (Fjord Dairy AS)"
    text = body_text(mail)
    assert "Its reason: The renewal window closed on 30 June 2031" in text
    assert "new registration application is needed" in text


@pytest.mark.asyncio
async def test_two_contacts_of_a_registration_each_get_one_email_in_their_own_language(
    iso: Settings, iso_db: AsyncDatabase, sink: Sink, notifier: ServiceContext
) -> None:
    english, chinese = contacts("buyer", "agent")
    registration = new_registration(
        number="CHN-DAIRY-0043",
        category="food.dairy",
        product="cheese",
        exporter={"name": "Fjord Dairy AS", "country": "NO"},
        contact_emails=[english, chinese],
        contact_languages={chinese: "zh"},
        issued_on=date(2026, 9, 1),
        valid_until=date(2031, 8, 31),
        application_id=None,
        source="import",
        now=NOW,
    )
    await iso_db["registrations"].insert_one(registration)
    change = RegistrationStatusChanged(
        registration_id=registration["_id"],
        registration_number="CHN-DAIRY-0043",
        from_status="active",
        to_status="suspended",
        trigger="suspended",
        actor="ops",
        reason="Inspection findings",
        at=NOW,
        category="food.dairy",
        product="cheese",
        exporter_name="Fjord Dairy AS",
        contact_emails=[english, chinese],
        valid_until=date(2031, 8, 31),
    )
    event = new_event(
        "registration.status_changed", change, service="ops", time=NOW, subject="CHN-DAIRY-0043"
    )
    await publish_event(iso.amqp_url, event)
    await wait_until(lambda: len(mails_to(sink.maildir, {english, chinese})) >= 2)
    await asyncio.sleep(0.5)  # nothing more arrives: one email per contact
    mails = {m["To"]: m for m in mails_to(sink.maildir, {english, chinese})}
    assert len(mails_to(sink.maildir, {english, chinese})) == 2
    assert decoded_subject(mails[english]) == (
        "Registration suspended: Fjord Dairy AS, registration CHN-DAIRY-0043"
    )
    assert decoded_subject(mails[chinese]) == "注册已被暂停：Fjord Dairy AS，注册号 CHN-DAIRY-0043"
    assert "The customs authority has suspended your registration" in body_text(mails[english])
    text = body_text(mails[chinese])
    assert "海关总署已暂停您的注册 CHN-DAIRY-0043。" in text
    assert "类别：乳品" in text
    assert "产品：干酪" in text
    assert "2031年8月31日" in text


def decoded_subject(message: Any) -> str:
    """The Subject as people read it (a Chinese one arrives RFC 2047 encoded)."""
    return str(make_header(decode_header(subject_of(message))))


def reminder_for(application: Application, emails: list[str]) -> CloudEvent:
    payload = DeadlineEvent(
        deadline_id=new_id("dl"),
        reminder_id=new_id("rm"),
        kind="additional_materials",
        subject=application.id,
        application_id=application.id,
        exporter_name=application.exporter.name,
        contact_emails=emails,
        due_at=NOW + timedelta(days=7),
        days_left=7,
    )
    return new_event(
        "deadline.additional_materials_due",
        payload,
        service="scheduler",
        time=NOW,
        subject=application.id,
        event_id=f"reminder:{uuid.uuid4().hex}",
    )


async def checked(
    db: AsyncDatabase, application: Application, at: datetime, warnings: list[str]
) -> None:
    """A check of the application's documents, as the validator stores it."""
    await db["validation_results"].insert_one(
        {
            "_id": new_id("val"),
            "application_id": application.id,
            "fingerprint": uuid.uuid4().hex,
            "evaluated_at": at,
            "verdict": "incomplete",
            "missing": [],
            "warnings": warnings,
        }
    )


@pytest.mark.asyncio
async def test_reader_warnings_of_the_latest_check_are_emailed_as_advice(
    iso: Settings, iso_db: AsyncDatabase, sink: Sink, notifier: ServiceContext
) -> None:
    emails = contacts("ivo")
    application = await stored_application(
        iso_db, emails, kind="new", status="additional_materials_requested"
    )
    expired = "page 1 reads 'Valid until 1 March 2019'; the metadata says 2020-03-01"
    await checked(iso_db, application, NOW - timedelta(days=2), ["an older warning"])
    await checked(iso_db, application, NOW - timedelta(days=1), [expired])

    await publish_event(iso.amqp_url, reminder_for(application, emails))
    await wait_until(lambda: len(mails_to(sink.maildir, set(emails))) >= 1)
    [mail] = mails_to(sink.maildir, set(emails))
    text = body_text(mail)
    advice = (
        "Advice from the latest check of your documents (it does not hold up your application):"
    )
    assert f"{advice}\n  - {expired}\n" in text
    assert "an older warning" not in text

    # A newer document mended it: the next email says what is true when it is sent.
    await checked(iso_db, application, NOW, [])
    await publish_event(iso.amqp_url, reminder_for(application, emails))
    await wait_until(lambda: len(mails_to(sink.maildir, set(emails))) >= 2)
    later = body_text(mails_to(sink.maildir, set(emails))[1])
    assert application.id in later
    assert advice not in later
    assert expired not in later


@pytest.mark.asyncio
async def test_advice_is_emailed_with_a_window_request_in_the_contacts_language(
    iso: Settings, iso_db: AsyncDatabase, sink: Sink, notifier: ServiceContext
) -> None:
    emails = contacts("jun")
    application = await stored_application(
        iso_db, emails, kind="new", status="additional_materials_requested"
    )
    await iso_db["applications"].update_one(
        {"_id": application.id}, {"$set": {"exporter.contact_languages": {emails[0]: "zh"}}}
    )
    warning = "the business licence names 'Fjord Melk AS' (score 71), not 'Fjord Dairy AS'"
    await checked(iso_db, application, NOW, [warning])
    change = ApplicationStatusChanged(
        application_id=application.id,
        from_status="accepted",
        to_status="additional_materials_requested",
        actor="ops",
        at=NOW,
    )
    event = new_event(
        "application.status_changed", change, service="validator", time=NOW, subject=application.id
    )
    await publish_event(iso.amqp_url, event)
    await wait_until(lambda: len(mails_to(sink.maildir, set(emails))) >= 1)
    text = body_text(mails_to(sink.maildir, set(emails))[0])
    assert f"最近一次文件检查给出的建议（不影响您的申请进度）：\n  - {warning}\n" in text
