"""The partner carried in the outbox entry by its writer is the partner the relay looked up
before: for every kind of partner event, written by the real writers (intake, validator,
decisions, imports, registration moves, the scheduler's reminders), against MongoDB."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from devtools.clock import ManualClock
from services.intake.checks import IntakeError
from services.intake.content import ContentFacts
from services.intake.store import Rejected, Submission, record_rejection, store_document
from services.scheduler import app as scheduler_app
from services.scheduler.app import SchedulerService
from services.validator.handlers import on_document_received
from shared.app.decisions import apply_decision
from shared.app.registrations import decide_registration, import_registrations
from shared.domain.catalog import cached_catalog
from shared.domain.events import ApplicationDecision, CloudEvent, DocumentReceived
from shared.domain.models import new_id
from shared.infra.outbox import carried_partner
from shared.infra.partner_routing import UNKNOWN, PartnerRouting
from shared.infra.settings import Settings
from shared.infra.topology import is_partner_event
from tests.factories import make_application
from tests.integration.deadline_support import isolated_settings
from tests.support import sample_pdf, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")

START = datetime(2031, 3, 2, 9, 0, tzinfo=UTC)
TODAY = START.date()
VALID_UNTIL = TODAY + timedelta(days=120)  # the renewal window is open today
HEADER = "registration_number,exporter_name,country,category,product,issued_on,valid_until,contact_emails"


@pytest.fixture(scope="module")
def iso(settings: Settings) -> Iterator[Settings]:
    with isolated_settings(settings, scheduler_tick_seconds=86400.0) as isolated:
        yield isolated


@pytest_asyncio.fixture
async def scheduler(iso: Settings, iso_db: AsyncDatabase) -> AsyncIterator[SchedulerService]:
    service = await scheduler_app.start(iso, ManualClock(START), replica="partner-test")
    await wait_until(lambda: service.ticks >= 1)  # the start-up tick found nothing
    yield service
    await service.close()


async def lookup_as_before(db: AsyncDatabase, event: dict[str, Any]) -> str | None:
    """The partner as the relay found it before entries carried one: from the documents'
    payload, else from the applications (a registration: its terms' newest first)."""

    async def of_application(application_id: str | None) -> str | None:
        found = (
            await db["applications"].find_one({"_id": application_id}) if application_id else None
        )
        return (found.get("partner_id") or None) if found else None

    async def of_registration(query: dict[str, Any]) -> str | None:
        found = None if None in query.values() else await db["registrations"].find_one(query)
        if found is None:
            return None
        terms = [t.get("application_id") for t in reversed(found.get("terms") or [])]
        for application_id in (*terms, found.get("application_id")):
            if partner := await of_application(application_id):
                return partner
        return None

    event_type, data = event["type"], event.get("data") or {}
    if event_type.startswith("document."):
        return data.get("partner_id")
    if event_type == "registration.status_changed":
        return await of_registration({"_id": data.get("registration_id")})
    if data.get("kind") in ("renewal", "expiry"):
        return await of_registration({"number": data.get("registration_number") or data["subject"]})
    return await of_application(data.get("application_id"))


def registration_number() -> str:
    return f"CHN{uuid.uuid4().hex[:10].upper()}"


async def certificate(
    ctx: SchedulerService, application_id: str, number: str, valid_until: date = VALID_UNTIL
) -> None:
    decision = ApplicationDecision(
        decision_id=new_id("dec"),
        application_id=application_id,
        kind="certificate_issued",
        registration_number=number,
        issued_on=date(2027, 1, 1),
        valid_until=valid_until,
    )
    catalog = cached_catalog(ctx.settings.catalog_dir)
    await apply_decision(ctx, catalog=catalog, decision=decision, publish_decision=False)


async def import_registration(ctx: SchedulerService, number: str) -> None:
    row = f"{number},Fjord Dairy AS,NO,food.dairy,milk_powder,2027-01-01,{VALID_UNTIL},ops@fjord.example"
    report = await import_registrations(
        ctx.client,
        ctx.db,
        catalog=cached_catalog(ctx.settings.catalog_dir),
        text=f"{HEADER}\n{row}\n",
        clock=ctx.clock,
        relay=ctx.relay,
    )
    assert report.imported == 1, report.errors


async def documents(ctx: SchedulerService, application_id: str, partner_id: str) -> CloudEvent:
    """A document stored as intake stores it, and a refused one of another partner."""
    body = sample_pdf(f"licence {uuid.uuid4()}")
    submission = Submission(
        partner_id=partner_id,
        application_id=application_id,
        document_type="business_licence",
        filename="licence.pdf",
        original_filename="licence.pdf",
        declared_content_type="application/pdf",
        metadata={},
        idempotency_key=None,
        channel="http",
    )
    facts = ContentFacts("application/pdf", len(body), hashlib.sha256(body).hexdigest())
    outcome = await store_document(ctx, submission, io.BytesIO(body), facts)
    assert outcome.status == "accepted"
    refused = Rejected(partner_id=partner_id, application_id=application_id, message_id="m1")
    await record_rejection(ctx, IntakeError("unsupported_type", "not a PDF"), refused)
    entry = await ctx.db["outbox"].find_one({"_id": outcome.event_id})
    assert entry is not None
    return CloudEvent.model_validate(entry["event"])


async def reminders_due_now(ctx: SchedulerService, query: dict[str, Any]) -> int:
    """One notice due now for each open deadline ``query`` finds (as after a gap)."""
    due = [
        {
            "_id": f"{d['_id']}:T-999d",
            "deadline_id": d["_id"],
            "kind": d["kind"],
            "subject": d["subject"],
            "point": "T-999d",
            "event_type": {
                "renewal": "deadline.renewal_due",
                "expiry": "deadline.expiry_due",
                "additional_materials": "deadline.additional_materials_due",
            }[d["kind"]],
            "fire_at": ctx.clock.now() - timedelta(minutes=1),
            "status": "pending",
            "lease_until": None,
        }
        async for d in ctx.db["deadlines"].find({**query, "status": "open"})
    ]
    await ctx.db["reminders"].insert_many(due)
    return len(due)


class Published:
    """The partner events written so far, each checked once, right after its writer's
    commit and publish, against the lookup the relay made at that moment before."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db
        self._seen: set[str] = set()
        self.entries: list[dict[str, Any]] = []

    async def skip_earlier(self) -> None:
        """Leave out what other tests wrote before."""
        self._seen |= {e["_id"] async for e in self._db["outbox"].find({}, {"_id": 1})}

    async def check(self) -> None:
        async for entry in self._db["outbox"].find({"_id": {"$nin": sorted(self._seen)}}):
            self._seen.add(entry["_id"])
            if not is_partner_event(entry["type"]):
                continue
            event, carried = entry["event"], carried_partner(entry)
            assert carried is not UNKNOWN, event  # every writer here knows the partner
            assert carried == await lookup_as_before(self._db, event), event
            assert await PartnerRouting(self._db).partner_of(event) == carried, event
            self.entries.append(entry)

    def partners(self, event_type: str, **fields: Any) -> set[str | None]:
        return {
            e.get("partner_id")
            for e in self.entries
            if e["type"] == event_type
            and all(e["event"]["data"].get(k) == v for k, v in fields.items())
        }


async def test_every_partner_event_carries_the_partner_the_lookup_finds(
    scheduler: SchedulerService, iso_db: AsyncDatabase
) -> None:
    ctx, db = scheduler, iso_db
    published = Published(db)
    await published.skip_earlier()
    catalog = cached_catalog(ctx.settings.catalog_dir)
    a, b = new_id("ptn"), new_id("ptn")
    # A registration certified for A's application: its window opens at once.
    certified = await make_application(db, a, status="accepted")
    number_a = registration_number()
    await certificate(ctx, certified, number_a)
    await published.check()
    # A registration imported by ops (no application), and one renewed by B's application.
    number_ops, number_renewed = registration_number(), registration_number()
    await import_registration(ctx, number_ops)
    await import_registration(ctx, number_renewed)
    await published.check()
    renewal = await make_application(
        db, b, kind="renewal", status="under_examination", registration_number=number_renewed
    )
    await db["applications"].update_one(  # as intake stores it: UTC midnight
        {"_id": renewal},
        {"$set": {"registration_valid_until": datetime.combine(VALID_UNTIL, time.min, UTC)}},
    )
    await certificate(ctx, renewal, number_renewed, VALID_UNTIL + timedelta(days=5 * 365))
    await published.check()
    # An application window of A's, a document of A's and its evaluation, a refused one.
    examined = await make_application(db, a, status="under_examination")
    window = ApplicationDecision(
        decision_id=new_id("dec"),
        application_id=examined,
        kind="additional_materials_requested",
        items=["business_licence"],
    )
    await apply_decision(ctx, catalog=catalog, decision=window, publish_decision=False)
    received = await documents(ctx, examined, a)
    await on_document_received(
        ctx, catalog, received, DocumentReceived.model_validate(received.data)
    )
    await published.check()
    # A notice due now for every open deadline, and for one that names no registration.
    await db["deadlines"].insert_one(
        {
            "_id": new_id("dl"),
            "kind": "renewal",
            "subject": registration_number(),
            "due_at": START + timedelta(days=30),
            "opened_at": START,
            "status": "open",
            "reminder_offsets_days": [],
        }
    )
    assert await reminders_due_now(ctx, {}) >= 6
    outcomes = await ctx.tick()
    assert outcomes["emitted"] >= 8, outcomes  # older points of a deadline are skipped
    await published.check()

    assert published.partners("document.received") == {a}
    assert published.partners("document.rejected") == {a}
    assert published.partners("application.validated") == {a}
    assert published.partners("application.status_changed", application_id=certified) == {a}
    assert published.partners("application.status_changed", application_id=renewal) == {b}
    assert published.partners("application.status_changed", application_id=examined) == {a}
    assert published.partners("deadline.additional_materials_due") == {a}
    # A registration's events follow the partner of its current term's application.
    registration_events = "registration.status_changed"
    assert published.partners(registration_events, registration_number=number_a) == {a}
    assert published.partners(registration_events, registration_number=number_ops) == {None}
    opened = published.partners(
        registration_events, registration_number=number_renewed, trigger="window_opened"
    )
    assert opened == {None}  # the imported term: nobody's
    granted = published.partners(
        registration_events, registration_number=number_renewed, trigger="renewal_granted"
    )
    assert granted == {b}
    for kind, event_type in (
        ("renewal", "deadline.renewal_due"),
        ("expiry", "deadline.expiry_due"),
    ):
        assert published.partners(event_type, kind=kind, registration_number=number_a) == {a}
        assert published.partners(event_type, kind=kind, registration_number=number_ops) == {None}
        renewed = published.partners(event_type, kind=kind, registration_number=number_renewed)
        assert renewed == {b}
    unknown = published.partners("deadline.renewal_due", registration_number=None)
    assert unknown == {None}  # no registration record: nobody's


async def test_an_event_of_a_registration_whose_terms_record_no_partner_is_looked_up(
    scheduler: SchedulerService, iso_db: AsyncDatabase
) -> None:
    """A registration stored before terms recorded their partner: its entry carries none,
    and the relay finds the partner of its application, as before."""
    ctx, db = scheduler, iso_db
    partner = new_id("ptn")
    application_id = await make_application(db, partner, status="registered")
    number = registration_number()
    issued, until = datetime(2027, 1, 1, tzinfo=UTC), datetime(2032, 1, 1, tzinfo=UTC)
    await db["registrations"].insert_one(
        {
            "_id": new_id("reg"),
            "number": number,
            "category": "food.dairy",
            "exporter": {"name": "Fjord Dairy AS", "country": "NO"},
            "issued_on": issued,
            "valid_until": until,
            "terms": [
                {
                    "issued_on": issued,
                    "valid_until": until,
                    "application_id": application_id,
                    "started_at": issued,
                }
            ],
            "application_id": application_id,
            "status": "active",
            "history": [],
        }
    )
    await decide_registration(ctx, number=number, kind="suspended", reason=None, actor="ops")
    entry = await db["outbox"].find_one(
        {"type": "registration.status_changed", "event.data.registration_number": number}
    )
    assert entry is not None
    assert "partner_id" not in entry
    assert await lookup_as_before(db, entry["event"]) == partner
    assert await PartnerRouting(db).partner_of(entry["event"]) == partner
