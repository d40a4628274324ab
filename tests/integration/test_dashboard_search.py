"""Ops search, the deadline calendar and an application's creation line, on the real database."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.app import ops_views as queries
from shared.app.deadline_calendar import deadline_month, month_csv
from shared.app.registrations import new_registration
from shared.app.search import HIGHEST, search
from shared.domain.deadlines import Deadline
from shared.domain.models import Exporter, new_id
from shared.infra.deadline_store import open_deadline
from tests.factories import make_application
from tests.factories import make_partner as stored_partner

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def make_partner(db: AsyncDatabase, name: str = "") -> str:
    # amqp_user's unique index is sparse, yet a stored None counts: each gets its own user.
    return await stored_partner(db, amqp_user=f"user-{uuid.uuid4().hex[:8]}", name=name)


def winning_stage(explained: dict) -> str:
    plan = explained["queryPlanner"]["winningPlan"]
    while "inputStage" in plan and plan.get("stage") != "IXSCAN":
        plan = plan["inputStage"]
    return str(plan.get("stage"))


async def test_search_finds_an_application_by_any_word_start_of_the_exporter_in_any_case(
    db: AsyncDatabase,
) -> None:
    word = f"Baltic{uuid.uuid4().hex[:6]}"
    partner = await make_partner(db, name=f"{word} Brokers")
    exporter = Exporter(name=f"Østersjø {word} Seafood", country="NO")
    application_id = await make_application(db, partner, exporter=exporter)

    results = await search(db=db, query=f"{word[:9].upper()} sea")

    assert [h.id for h in results.groups["application"]] == [application_id]
    assert results.groups["partner"] == [], "every word typed must match: no 'sea' in it"
    by_word = await search(db=db, query=word.lower())
    assert [h.id for h in by_word.groups["partner"]] == [partner]
    assert (await search(db=db, query="ØSTERSJØ " + word.lower())).groups["application"]


async def test_search_by_id_prefix_and_registration_number(db: AsyncDatabase) -> None:
    number = f"CNOR{uuid.uuid4().hex[:8].upper()}"
    application_id = await make_application(
        db, await make_partner(db), kind="renewal", registration_number=number
    )
    await db["registrations"].insert_one(
        new_registration(
            number=number,
            category="food.dairy",
            product=None,
            exporter={"name": "Fiskeri AS", "country": "NO"},
            contact_emails=[],
            issued_on=date(2025, 1, 1),
            valid_until=date(2030, 1, 1),
            application_id=None,
            source="import",
            now=datetime.now(UTC),
        )
    )

    by_id = await search(db=db, query=application_id[:16])
    by_number = await search(db=db, query=number.lower())

    assert application_id in [h.id for h in by_id.groups["application"]]
    assert [h.id for h in by_number.groups["registration"]] == [number]
    assert [h.matched for h in by_number.groups["application"]] == ["registration number"]


async def test_search_reads_through_indexes_only(db: AsyncDatabase) -> None:
    for collection, query, hint in (
        ("applications", {"exporter_terms": {"$gte": "nordic", "$lt": "nordic" + HIGHEST}}, None),
        ("applications", {"_id": {"$gte": "app_1", "$lt": "app_1" + HIGHEST}}, "_id_"),
        ("applications", {"registration_number": {"$gte": "C", "$lt": "C" + HIGHEST}}, None),
        ("registrations", {"exporter_terms": {"$gte": "fi", "$lt": "fi" + HIGHEST}}, None),
        ("partners", {"name_terms": {"$gte": "te", "$lt": "te" + HIGHEST}}, None),
        ("deadlines", {"due_at": {"$gt": datetime(2031, 1, 1, tzinfo=UTC)}}, None),
    ):
        explained = await db[collection].find(query, hint=hint).explain()
        assert winning_stage(explained) == "IXSCAN", (collection, query)


async def test_a_short_query_asks_for_more_and_finds_nothing(db: AsyncDatabase) -> None:
    results = await search(db=db, query=" a ")
    assert results.too_short
    assert results.total == 0


async def test_calendar_puts_a_deadline_on_its_beijing_last_day_and_csv_matches(
    db: AsyncDatabase,
) -> None:
    subject = f"app_{uuid.uuid4().hex}"
    # 23:30 UTC on 31 May is 07:30 on 1 June in Beijing.
    for due_at, kind in (
        (datetime(2032, 5, 31, 23, 30, tzinfo=UTC), "rectification"),
        (datetime(2032, 6, 30, 16, 0, tzinfo=UTC), "processing"),  # 24:00 on 30 June
    ):
        await open_deadline(
            db,
            Deadline(
                _id=new_id("dl"),
                kind=kind,
                subject=subject,
                application_id=subject,
                due_at=due_at,
                opened_at=datetime.now(UTC),
                exporter_name="=HYPERLINK(evil)",
            ),
        )

    june = await deadline_month(db=db, now=datetime.now(UTC), month=date(2032, 6, 1))
    may = await deadline_month(db=db, now=datetime.now(UTC), month=date(2032, 5, 1))

    mine = [(e.last_day, e.kind) for e in june.entries if e.subject == subject]
    assert mine == [(date(2032, 6, 1), "rectification"), (date(2032, 6, 30), "processing")]
    assert not [e for e in may.entries if e.subject == subject]
    first_day = next(d for week in june.weeks for d in week if d.day == date(2032, 6, 1))
    assert [e.kind for e in first_day.entries if e.subject == subject] == ["rectification"]
    rows = [r for r in csv.DictReader(io.StringIO(month_csv(june))) if r["subject"] == subject]
    assert [r["last_day"] for r in rows] == ["2032-06-01", "2032-06-30"]
    assert rows[0]["exporter"] == "'=HYPERLINK(evil)", "a spreadsheet must not run it"


async def test_history_starts_with_the_creation_even_when_none_was_recorded(
    db: AsyncDatabase,
) -> None:
    partner = await make_partner(db, name="Creation Partner")
    application_id = await make_application(db, partner)  # written without a history

    detail = await queries.application_detail(db=db, application_id=application_id)

    first = detail.history[0]
    assert (first.from_status, first.to_status, first.actor, first.trigger) == (
        None,
        "submitted",
        partner,
        "created",
    )
    assert first.channel is None
    assert detail.partner_name == "Creation Partner"
