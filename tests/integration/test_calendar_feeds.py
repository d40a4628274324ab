"""Calendar feeds served by the intake: a partner's (API key) and an exporter contact's
(secret link), parsed with icalendar and checked against the open deadlines in MongoDB."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from icalendar import Calendar
from pymongo.asynchronous.database import AsyncDatabase

from shared.app.calendar_links import (
    calendar_path,
    calendar_token,
    contact_for_token,
    revoke_calendar_token,
)
from shared.app.partners import issue_api_key
from shared.domain.calendar import authority_date
from shared.domain.deadlines import Deadline
from shared.domain.models import Exporter
from shared.infra.deadline_store import close_deadline
from shared.infra.settings import Settings
from tests.integration.lifecycle_support import (
    Lifecycle,
    decide,
    food_other_complete,
)
from tests.integration.partner_support import client_for

pytestmark = pytest.mark.asyncio(loop_scope="session")


def expected_days(deadline: Deadline) -> dict[str, date]:
    """UID -> day, from the deadline as stored (computed apart from the feed's code)."""
    days = {}
    if deadline.kind == "renewal" and deadline.opens_at is not None:
        days[f"{deadline.id}-opens@regwatch"] = authority_date(deadline.opens_at)
    point = "expires" if deadline.kind == "expiry" else "closes"
    days[f"{deadline.id}-{point}@regwatch"] = deadline.last_day
    return days


def feed_days(body: bytes) -> dict[str, Any]:
    events = Calendar.from_ical(body).walk("VEVENT")
    return {str(e["UID"]): e for e in events}


async def open_deadlines(db: AsyncDatabase, application_id: str, number: str) -> list[Deadline]:
    found = (
        await db["deadlines"]
        .find(
            {
                "status": "open",
                "kind": {"$ne": "processing"},
                "subject": {"$in": [application_id, number]},
            }
        )
        .to_list()
    )
    return [Deadline.model_validate(d) for d in found]


async def test_partner_and_contact_feeds_match_the_open_deadlines(
    db: AsyncDatabase, lifecycle: Lifecycle
) -> None:
    contact = f"quality-{uuid.uuid4().hex[:8]}@fjord.example"
    exporter = Exporter(name="Fjord Dairy AS", country="NO", contact_emails=[contact])
    materials_app = await food_other_complete(lifecycle.ops, db, exporter=exporter)
    registered_app = await food_other_complete(lifecycle.ops, db, exporter=exporter)
    application = await db["applications"].find_one({"_id": materials_app})
    partner_id = application["partner_id"]
    await db["applications"].update_one(
        {"_id": registered_app}, {"$set": {"partner_id": partner_id}}
    )
    response = await decide(
        lifecycle, materials_app, "additional_materials_requested", items=["a recent licence"]
    )
    assert response.status_code == 201, response.text
    number = f"CHN-CAL-{uuid.uuid4().hex[:6]}"
    for kind, fields in [
        ("acceptance_notice", {}),
        (
            "certificate_issued",
            {"registration_number": number, "issued_on": "2026-11-20", "valid_until": "2031-11-19"},
        ),
    ]:
        response = await decide(lifecycle, registered_app, kind, **fields)
        assert response.status_code == 201, response.text
    deadlines = await open_deadlines(db, materials_app, "-") + await open_deadlines(db, "-", number)
    assert {d.kind for d in deadlines} == {"additional_materials", "renewal", "expiry"}
    expected = {uid: day for d in deadlines for uid, day in expected_days(d).items()}

    api_key = await issue_api_key(db, partner_id=partner_id, now=datetime.now(UTC))
    async with client_for(lifecycle.ops, api_key) as client:
        partner_feed = await client.get("/v1/calendar.ics")
        token = await calendar_token(db, contact, datetime.now(UTC))
        contact_feed = await client.get(calendar_path(token))
    assert partner_feed.status_code == contact_feed.status_code == 200
    assert partner_feed.headers["content-type"].startswith("text/calendar")
    for body in (partner_feed.content, contact_feed.content):
        events = feed_days(body)
        assert {uid: e.decoded("DTSTART") for uid, e in events.items()} == expected
    events = feed_days(partner_feed.content)
    materials_deadline = next(d for d in deadlines if d.kind == "additional_materials")
    materials = events[f"{materials_deadline.id}-closes@regwatch"]
    assert "a recent licence" in str(materials["DESCRIPTION"])
    renewal = next(e for u, e in events.items() if u.endswith("-opens@regwatch"))
    assert number in str(renewal["DESCRIPTION"])
    assert number in str(renewal["SUMMARY"])

    # Met, the window leaves the feed; the same UIDs stay for what is still open.
    await close_deadline(db, materials_deadline.id, "met", datetime.now(UTC), status="met")
    async with client_for(lifecycle.ops, api_key) as client:
        after = feed_days((await client.get("/v1/calendar.ics")).content)
    assert set(after) == set(expected) - set(expected_days(materials_deadline))


async def test_another_partner_sees_nothing_and_a_revoked_link_is_gone(
    db: AsyncDatabase, lifecycle: Lifecycle
) -> None:
    contact = f"ops-{uuid.uuid4().hex[:8]}@elsewhere.example"
    exporter = Exporter(name="Elsewhere Oy", country="FI", contact_emails=[contact])
    application_id = await food_other_complete(lifecycle.ops, db, exporter=exporter)
    response = await decide(lifecycle, application_id, "additional_materials_requested")
    assert response.status_code == 201, response.text
    stranger = await issue_api_key(db, partner_id="ptn_stranger", now=datetime.now(UTC))
    await db["partners"].update_one(
        {"_id": "ptn_stranger"},
        {"$setOnInsert": {"name": "Stranger", "created_at": datetime.now(UTC)}},
        upsert=True,
    )
    token = await calendar_token(db, contact, datetime.now(UTC))
    async with client_for(lifecycle.ops, stranger) as client:
        theirs = feed_days((await client.get("/v1/calendar.ics")).content)
        assert not [uid for uid in theirs if application_id in uid]
        assert len(feed_days((await client.get(calendar_path(token))).content)) == 1
        assert await revoke_calendar_token(db, contact)
        gone = await client.get(calendar_path(token))
        unknown = await client.get("/calendar/cal_nothing.ics")
        anonymous = await client.get("/v1/calendar.ics", headers={"Authorization": ""})
    assert gone.status_code == unknown.status_code == 404
    assert anonymous.status_code == 401


async def test_ops_show_and_revoke_a_contacts_link_from_the_cli(
    db: AsyncDatabase, settings: Settings
) -> None:
    contact = f"cli-{uuid.uuid4().hex[:8]}@fjord.example"
    env = {**os.environ, "MONGODB_URL": settings.mongodb_url, "MONGODB_DB": settings.mongodb_db}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        code = "from services.cli.calendar import app; app()"
        return subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=60
        )

    shown = await asyncio.to_thread(cli, "link", contact)
    assert shown.returncode == 0, shown.stderr
    token = await calendar_token(db, contact, datetime.now(UTC))
    assert shown.stdout.strip().endswith(calendar_path(token))
    revoked = await asyncio.to_thread(cli, "revoke", contact)
    again = await asyncio.to_thread(cli, "revoke", contact)
    assert revoked.returncode == 0
    assert again.returncode == 1
    assert await contact_for_token(db, token) is None
