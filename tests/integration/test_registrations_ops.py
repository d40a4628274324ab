"""Ops see registrations: the read models, the intake's ops API, the dashboard and the CLI,
against the real database and broker, with registrations seeded as the lifecycle stores them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from click.testing import Result
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.http import create_http_app
from shared.app import registration_views as views
from shared.domain.calendar import authority_date, start_of_day
from shared.infra.runtime import ServiceContext, open_context
from shared.infra.settings import Settings
from tests.cli_support import json_of, regwatch
from tests.dashboard_support import dashboard_server, ops_headers
from tests.integration.registration_support import (
    emit_with_email,
    history_line,
    imported_registration,
    seed_old_registration,
    seed_registration,
    status_event_with_email,
)
from tests.support import serving

pytestmark = pytest.mark.asyncio(loop_scope="session")

NOW = datetime(2026, 3, 10, 18, 30, tzinfo=UTC)  # 02:30 on 11 March in Beijing
TODAY = authority_date(NOW)


def today() -> date:
    """The authority's today for the services, which run on the real clock."""
    return authority_date(datetime.now(UTC))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def intake(
    settings: Settings, db: AsyncDatabase
) -> AsyncIterator[tuple[ServiceContext, str]]:
    """The intake HTTP API (ops routes included) on a free port of 127.0.0.1."""
    ctx = await open_context("intake", settings)
    async with serving(create_http_app(ctx)) as url:
        yield ctx, url
    await ctx.close()


@pytest_asyncio.fixture(loop_scope="session")
async def ops_api(
    intake: tuple[ServiceContext, str], settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=intake[1], headers=ops_headers(settings)) as client:
        yield client


async def test_detail_shows_term_window_next_pending_reminder_history_and_only_its_emails(
    db: AsyncDatabase,
) -> None:
    seeded = await seed_registration(db, today=TODAY, opens_in=40, closes_in=130, ends_in=220)
    await emit_with_email(
        db, f"{seeded.renewal_id}:opens-notice", "export@fjord.example", "Window opens soon"
    )
    await status_event_with_email(db, seeded.number, "export@fjord.example", "Status changed")
    other = await seed_registration(db, today=TODAY)
    await status_event_with_email(db, other.number, "export@fjord.example", "Not this one")

    detail = await views.registration_detail(db=db, number=seeded.number)

    r = detail.registration
    assert (r.status, r.exporter, r.country) == ("active", "Fjord Dairy AS", "NO")
    assert (r.window_opens_on, r.window_closes_on) == (
        TODAY + timedelta(days=40),
        TODAY + timedelta(days=130),
    )
    assert r.valid_until == TODAY + timedelta(days=220)
    assert [(t.issued_on, t.valid_until) for t in detail.terms] == [
        (TODAY - timedelta(days=1500), TODAY + timedelta(days=220))
    ]
    # The opening notice went out: next is the window's opening (00:00 Beijing that day).
    assert r.next_reminder is not None
    assert (r.next_reminder.point, r.next_reminder.event_type) == (
        "opens",
        "registration.status_changed",
    )
    assert r.next_reminder.fire_at == start_of_day(TODAY + timedelta(days=40))
    assert [(d.kind, d.opens_on, d.last_day) for d in detail.deadlines] == [
        ("renewal", TODAY + timedelta(days=40), TODAY + timedelta(days=130)),
        ("expiry", None, TODAY + timedelta(days=220)),
    ]
    assert [h.to_status for h in detail.history] == ["active"]
    assert sorted(e.subject or "" for e in detail.emails) == ["Status changed", "Window opens soon"]


async def test_reminders_of_closed_deadlines_are_never_the_next_reminder(db: AsyncDatabase) -> None:
    seeded = await seed_registration(db, today=TODAY, status="renewal_filed")
    await db["deadlines"].update_one(
        {"_id": seeded.renewal_id}, {"$set": {"status": "met", "closed_reason": "renewal filed"}}
    )
    detail = await views.registration_detail(db=db, number=seeded.number)
    assert detail.registration.next_reminder is not None
    assert detail.registration.next_reminder.deadline_kind == "expiry"


async def test_a_record_older_than_the_lifecycle_reads_as_active_with_its_deadlines_window(
    db: AsyncDatabase,
) -> None:
    number = await seed_old_registration(db, today=TODAY, closes_in=50)
    detail = await views.registration_detail(db=db, number=number)
    r = detail.registration
    assert (r.status, r.window_opens_on, r.window_closes_on) == (
        "active",
        None,
        TODAY + timedelta(days=50),
    )
    assert [t.valid_until for t in detail.terms] == [TODAY + timedelta(days=140)]
    assert detail.history == []
    assert detail.emails == []
    listed = await views.list_registrations(db=db, now=NOW, status="active", limit=500)
    assert number in {row.number for row in listed.rows}


async def test_list_filters_by_status_and_by_window_close_or_term_end_within_days(
    db: AsyncDatabase,
) -> None:
    closing = await seed_registration(db, today=TODAY, opens_in=-60, closes_in=20, ends_in=110)
    ending = await seed_registration(db, today=TODAY, opens_in=-150, closes_in=-30, ends_in=60)
    far = await seed_registration(db, today=TODAY, opens_in=200, closes_in=290, ends_in=380)
    gone = await seed_registration(
        db, today=TODAY, status="expired", opens_in=-300, closes_in=-210, ends_in=-120
    )
    ours = {closing.number, ending.number, far.number, gone.number}

    async def numbers(**filters: object) -> set[str]:
        page = await views.list_registrations(db=db, now=NOW, limit=500, **filters)  # type: ignore[arg-type]
        return {row.number for row in page.rows} & ours

    assert await numbers(within_days=30) == {closing.number}
    assert await numbers(within_days=90) == {closing.number, ending.number}
    assert await numbers(status="expired") == {gone.number}
    assert await numbers(status="active", within_days=400) == {
        closing.number,
        ending.number,
        far.number,
    }
    with pytest.raises(views.UnknownRegistrationStatus, match="renewal_open"):
        await views.list_registrations(db=db, now=NOW, status="lapsed")


async def test_list_pages_with_a_total(db: AsyncDatabase) -> None:
    for _ in range(3):
        await seed_registration(db, today=TODAY, status="suspended")
    first = await views.list_registrations(db=db, now=NOW, status="suspended", limit=2)
    second = await views.list_registrations(db=db, now=NOW, status="suspended", offset=2, limit=2)
    assert first.total == second.total >= 3
    assert len(first.rows) == 2
    assert not {r.number for r in first.rows} & {r.number for r in second.rows}


async def test_ops_api_lists_and_shows_registrations_and_answers_problems(
    ops_api: httpx.AsyncClient, db: AsyncDatabase
) -> None:
    seeded = await seed_registration(
        db, today=today(), status="renewal_open", opens_in=-5, closes_in=25
    )
    listed = await ops_api.get(
        "/v1/registrations", params={"status": "renewal_open", "within_days": 30}
    )
    assert listed.status_code == 200, listed.text
    rows = {row["number"]: row for row in listed.json()["rows"]}
    assert rows[seeded.number]["window_closes_on"] == str(today() + timedelta(days=25))

    shown = await ops_api.get(f"/v1/registrations/{seeded.number}")
    assert shown.status_code == 200
    assert shown.json()["registration"]["status"] == "renewal_open"
    assert shown.json()["deadlines"][0]["kind"] == "renewal"

    missing = await ops_api.get("/v1/registrations/CHN-NOPE")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "There is no registration CHN-NOPE." in missing.json()["detail"]
    wrong = await ops_api.get("/v1/registrations", params={"status": "lapsed"})
    assert wrong.status_code == 422
    assert "renewal_filed" in wrong.json()["detail"]
    anonymous = await httpx.AsyncClient(base_url=str(ops_api.base_url)).get("/v1/registrations")
    assert anonymous.status_code == 401


async def test_ops_api_documents_the_registration_routes(ops_api: httpx.AsyncClient) -> None:
    paths = (await ops_api.get("/openapi.json")).json()["paths"]
    assert {"get"} <= set(paths["/v1/registrations"])
    assert "404" in paths["/v1/registrations/{number}"]["get"]["responses"]


async def test_dashboard_lists_registrations_and_shows_one_with_its_emails(
    settings: Settings, db: AsyncDatabase, intake: tuple[ServiceContext, str]
) -> None:
    seeded = await seed_registration(db, today=today(), opens_in=10, closes_in=100, ends_in=190)
    await status_event_with_email(db, seeded.number, "export@fjord.example", "Registration renewed")
    async with (
        dashboard_server(settings) as (_, url),
        httpx.AsyncClient(base_url=url, headers=ops_headers(settings)) as ops,
    ):
        listed = (await ops.get("/api/registrations", params={"within_days": 100})).json()
        assert seeded.number in {row["number"] for row in listed["rows"]}
        detail = (await ops.get(f"/api/registrations/{seeded.number}")).json()
        assert detail["registration"]["window_opens_on"] == str(today() + timedelta(days=10))
        assert (await ops.get("/api/registrations/CHN-NOPE")).status_code == 404

        page = await ops.get("/registrations", params={"status": "active", "within": "100"})
        assert page.status_code == 200
        assert f'href="/registrations/{seeded.number}"' in page.text
        assert 'href="/registrations"' in page.text, "linked from the nav"
        one = await ops.get(f"/registrations/{seeded.number}")
        assert one.status_code == 200
        assert str(today() + timedelta(days=100)) in one.text
        assert "Registration renewed" in one.text
        assert "Beijing time" in one.text
        anonymous = await httpx.AsyncClient(base_url=url).get(f"/registrations/{seeded.number}")
        assert anonymous.status_code == 303


async def test_cli_lists_and_shows_registrations(settings: Settings, db: AsyncDatabase) -> None:
    seeded = await seed_registration(
        db,
        today=today(),
        status="renewal_open",
        opens_in=-10,
        closes_in=15,
        history=[history_line("active", "renewal_open", "window_opened", datetime.now(UTC))],
    )
    listed = json_of(
        await regwatch(
            settings,
            "registrations",
            "list",
            "--status",
            "renewal_open",
            "--within",
            "3w",
            "--json",
        )
    )
    assert seeded.number in {row["number"] for row in listed["rows"]}
    human = await regwatch(settings, "registrations", "list", "--within", "90d")
    assert human.exit_code == 0, human.output
    assert seeded.number in human.stdout

    detail = json_of(await regwatch(settings, "registrations", "show", seeded.number, "--json"))
    assert detail["registration"]["window_closes_on"] == str(today() + timedelta(days=15))
    shown = await regwatch(settings, "registrations", "show", seeded.number)
    assert shown.exit_code == 0, shown.output
    assert "active -> renewal_open" in shown.stdout, shown.stdout
    assert "next reminder: opens-notice deadline.renewal_window_opens on " in shown.stdout
    missing = await regwatch(settings, "registrations", "show", "CHN-NOPE")
    assert missing.exit_code == 1
    assert "There is no registration CHN-NOPE." in missing.output
    bad = await regwatch(settings, "registrations", "list", "--within", "soon")
    assert bad.exit_code == 2


async def pending_reminders(db: AsyncDatabase, number: str) -> int:
    deadlines = await db["deadlines"].find({"subject": number}, {"_id": 1}).to_list()
    ids = [d["_id"] for d in deadlines]
    return await db["reminders"].count_documents({"deadline_id": {"$in": ids}, "status": "pending"})


async def test_ops_api_suspends_and_reinstates_and_refuses_an_illegal_move_with_409(
    ops_api: httpx.AsyncClient, intake: tuple[ServiceContext, str], db: AsyncDatabase
) -> None:
    number = await imported_registration(intake[0], valid_until=today() + timedelta(days=400))
    assert await pending_reminders(db, number) > 0

    suspended = await ops_api.post(
        f"/v1/registrations/{number}/decisions",
        json={"kind": "suspended", "reason": "GACC notice 2026-117"},
    )
    assert suspended.status_code == 200, suspended.text
    body = suspended.json()
    assert body["registration"]["status"] == "suspended"
    assert body["registration"]["next_reminder"] is None
    assert body["allowed_decisions"] == ["cancelled", "reinstated"]
    assert (body["history"][-1]["to_status"], body["history"][-1]["reason"]) == (
        "suspended",
        "GACC notice 2026-117",
    )
    assert await pending_reminders(db, number) == 0
    assert await db["outbox"].find_one(
        {
            "type": "registration.status_changed",
            "subject": number,
            "event.data.to_status": "suspended",
        }
    )

    again = await ops_api.post(
        f"/v1/registrations/{number}/decisions", json={"kind": "suspended", "reason": "twice"}
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    problem = again.json()
    assert problem["current_status"] == "suspended"
    assert "active" in problem["allowed_statuses"]
    assert "suspended" not in problem["allowed_statuses"]

    reinstated = await ops_api.post(
        f"/v1/registrations/{number}/decisions", json={"kind": "reinstated", "reason": "lifted"}
    )
    assert reinstated.status_code == 200, reinstated.text
    assert reinstated.json()["registration"]["status"] in ("active", "renewal_open")
    assert await pending_reminders(db, number) > 0

    unknown = await ops_api.post(
        "/v1/registrations/CHN-NOPE/decisions", json={"kind": "cancelled", "reason": "x"}
    )
    assert unknown.status_code == 404
    wrong = await ops_api.post(
        f"/v1/registrations/{number}/decisions", json={"kind": "revoked", "reason": "x"}
    )
    assert wrong.status_code == 422


async def test_dashboard_records_a_decision_from_the_registration_page(
    settings: Settings, intake: tuple[ServiceContext, str], db: AsyncDatabase
) -> None:
    number = await imported_registration(intake[0], valid_until=today() + timedelta(days=500))
    async with dashboard_server(settings) as (_, url), httpx.AsyncClient(base_url=url) as ops:
        login = await ops.post("/login", data={"password": settings.regwatch_ops_token})
        assert login.status_code == 303
        page = await ops.get(f"/registrations/{number}")
        assert 'id="decide"' in page.text
        assert '<option value="suspended">' in page.text
        # The form's CSRF token, as the browser sends it with the form.
        csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert csrf is not None
        token = csrf.group(1)

        done = await ops.post(
            f"/registrations/{number}/decisions",
            data={"kind": "cancelled", "reason": "withdrawn", "csrf_token": token},
        )
        assert done.status_code == 303
        after = await ops.get(done.headers["location"])
        assert "the registration is now cancelled" in after.text
        assert 'id="decide"' not in after.text, "nothing is left to decide on a cancelled one"
        refused = await ops.post(
            f"/registrations/{number}/decisions",
            data={"kind": "suspended", "reason": "late", "csrf_token": token},
        )
        assert "suspended refused" in (await ops.get(refused.headers["location"])).text
    stored = await db["registrations"].find_one({"number": number})
    assert stored is not None
    assert stored["history"][-1]["actor"] == "ops"


async def regwatch_as_ops(settings: Settings, *args: str) -> Result:
    """The CLI with the ops token in its environment, as an ops shell has it."""
    return await regwatch(settings, *args, env={"REGWATCH_OPS_TOKEN": settings.regwatch_ops_token})


async def test_cli_decides_through_the_ops_api(
    settings: Settings, intake: tuple[ServiceContext, str], db: AsyncDatabase
) -> None:
    number = await imported_registration(intake[0], valid_until=today() + timedelta(days=600))
    url = intake[1]
    done = await regwatch_as_ops(
        settings,
        "registrations",
        "decide",
        number,
        "suspended",
        "--reason",
        "audit",
        "--intake-url",
        url,
    )
    assert done.exit_code == 0, done.output
    assert f"registration {number} is now suspended" in done.stdout
    refused = await regwatch_as_ops(
        settings,
        "registrations",
        "decide",
        number,
        "suspended",
        "--reason",
        "again",
        "--intake-url",
        url,
    )
    assert refused.exit_code == 1
    assert "refused (409)" in refused.output
    assert "allowed only in" in refused.output
    unknown_kind = await regwatch_as_ops(
        settings, "registrations", "decide", number, "revoked", "--reason", "x", "--intake-url", url
    )
    assert unknown_kind.exit_code == 2
    stored = await db["registrations"].find_one({"number": number})
    assert stored is not None
    assert stored["status"] == "suspended"
