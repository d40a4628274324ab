"""Ops decisions over HTTP: lifecycle moves, windows as deadlines, registrations, refusals."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.http import create_http_app
from shared.domain.calendar import authority_date, end_of_day
from shared.domain.deadlines import last_day
from shared.infra.settings import Settings
from tests.integration.lifecycle_support import (
    OPS,
    Lifecycle,
    decide,
    deliver,
    food_other_complete,
    wait_for_result_caused_by,
    wait_for_status,
)
from tests.support import EventTap


@pytest.mark.asyncio
async def test_additional_materials_open_a_30_day_window_that_complete_materials_close(
    settings: Settings, db: AsyncDatabase, lifecycle: Lifecycle
) -> None:
    application_id = await food_other_complete(lifecycle.ops, db)
    async with EventTap(settings.amqp_url) as tap:
        response = await decide(
            lifecycle,
            application_id,
            "additional_materials_requested",
            items=["a recent business licence"],
            reason="licence expires soon",
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["from_status"], body["to_status"]) == (
            "under_examination",
            "additional_materials_requested",
        )
        changed = await tap.wait_for(
            "application.status_changed",
            application_id=application_id,
            to_status="additional_materials_requested",
        )
        await tap.wait_for("application.decision", application_id=application_id)

    window = await db["deadlines"].find_one(
        {"subject": application_id, "kind": "additional_materials"}
    )
    assert window is not None
    assert window["status"] == "open"
    # 30 days from the notice date (today in Beijing), ending at 24:00 Beijing time.
    notified = authority_date(window["opened_at"])
    assert window["due_at"] == end_of_day(notified + timedelta(days=30))
    assert window["reminder_offsets_days"] == [14, 7, 3, 1]
    assert window["on_missed"] == "not_accepted"
    assert changed[0]["data"]["items"] == ["a recent business licence"]
    assert changed[0]["data"]["due_at"] is not None
    assert await db["reminders"].count_documents({"deadline_id": window["_id"]}) == 5
    processing = await db["deadlines"].find_one({"_id": f"dl_processing_{application_id}"})
    assert processing is not None
    assert processing["status"] == "closed"

    # The exporter sends the material: complete again -> back under examination, window closed.
    await deliver(
        lifecycle.ops, application_id, "business_licence", language="en", expiry_date="2032-01-01"
    )
    application = await wait_for_status(db, application_id, "under_examination")
    window = await db["deadlines"].find_one({"_id": window["_id"]})
    assert window is not None
    assert window["status"] == "closed"
    assert window["closed_reason"] == "closed by documents_complete"
    assert (
        await db["reminders"].count_documents({"deadline_id": window["_id"], "status": "pending"})
        == 0
    )
    assert [h["to_status"] for h in application["history"]] == [
        "under_examination",
        "additional_materials_requested",
        "under_examination",
    ]
    assert application["history"][1]["actor"] == "ops"
    assert application["history"][1]["reason"] == "licence expires soon"


@pytest.mark.asyncio
async def test_decisions_lead_to_a_certificate_a_registration_and_its_renewal_window(
    db: AsyncDatabase, lifecycle: Lifecycle
) -> None:
    application_id = await food_other_complete(lifecycle.ops, db)
    for kind, fields in [
        ("acceptance_notice", {}),
        ("rectification_requested", {"items": ["label the storage area"]}),
        ("onsite_assessment_scheduled", {"assessment_on": "2027-01-15"}),
    ]:
        response = await decide(lifecycle, application_id, kind, **fields)
        assert response.status_code == 201, response.text
    rectification = await db["deadlines"].find_one(
        {"subject": application_id, "kind": "rectification"}
    )
    assert rectification is not None
    assert rectification["status"] == "closed"
    assert rectification["on_missed"] == "failed"

    response = await decide(
        lifecycle,
        application_id,
        "certificate_issued",
        registration_number="CHN-FOOD-0001",
        issued_on="2026-11-20",
        valid_until="2031-11-19",
    )
    assert response.status_code == 201, response.text
    assert response.json()["to_status"] == "registered"

    application = await db["applications"].find_one({"_id": application_id})
    assert application is not None
    assert [h["to_status"] for h in application["history"]] == [
        "under_examination",
        "accepted",
        "rectification_requested",
        "onsite_assessment_scheduled",
        "registered",
    ]
    assert application["registration_number"] == "CHN-FOOD-0001"
    registration = await db["registrations"].find_one({"number": "CHN-FOOD-0001"})
    assert registration is not None
    assert registration["application_id"] == application_id
    assert registration["exporter"]["name"] == "Nordic Scrap AB"
    assert registration["valid_until"].date().isoformat() == "2031-11-19"
    renewal = await db["deadlines"].find_one({"subject": "CHN-FOOD-0001", "kind": "renewal"})
    assert renewal is not None
    assert renewal["status"] == "open"
    # Decree 280: renewal applied for 3 to 6 months before expiry; the window closes at 3.
    assert last_day(renewal["due_at"]).isoformat() == "2031-08-19"
    assert last_day(renewal["opens_at"] + timedelta(days=1)).isoformat() == "2031-05-19"
    assert renewal["expires_at"] == end_of_day(date(2031, 11, 19))
    assert renewal["contact_emails"] == ["exports@nordicscrap.example"]
    points = await db["reminders"].find({"deadline_id": renewal["_id"]}).to_list()
    # None before the window opens (19 May): the offsets from T-90d on, and the close.
    assert {p["point"] for p in points} == {
        "opens-notice",
        "opens",
        "T-90d",
        "T-60d",
        "T-30d",
        "T-14d",
        "T-7d",
        "T-1d",
        "due",
    }
    expiry = await db["deadlines"].find_one({"subject": "CHN-FOOD-0001", "kind": "expiry"})
    assert expiry is not None
    assert expiry["due_at"] == end_of_day(date(2031, 11, 19))
    # No processing watch or rectification window stays open on a registered application.
    assert await db["deadlines"].count_documents({"subject": application_id, "status": "open"}) == 0


@pytest.mark.asyncio
async def test_illegal_decision_is_refused_by_name(db: AsyncDatabase, lifecycle: Lifecycle) -> None:
    application_id = await food_other_complete(lifecycle.ops, db)
    response = await decide(
        lifecycle,
        application_id,
        "certificate_issued",
        registration_number="CHN-X",
        issued_on="2026-01-01",
        valid_until="2031-01-01",
    )
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "'certificate_issued' cannot be applied to an application in status "
        "'under_examination'; it is allowed only in: accepted, onsite_assessment_scheduled, "
        "rectification_requested"
    )
    application = await db["applications"].find_one({"_id": application_id})
    assert application is not None
    assert application["status"] == "under_examination"
    assert await db["registrations"].count_documents({"number": "CHN-X"}) == 0


@pytest.mark.asyncio
async def test_decisions_need_ops_credentials(db: AsyncDatabase, lifecycle: Lifecycle) -> None:
    application_id = await food_other_complete(lifecycle.ops, db)
    url = f"/v1/applications/{application_id}/decisions"
    for headers in ({}, {"Authorization": "Bearer rw_partner_api_key"}):
        response = await lifecycle.http.post(
            url, json={"kind": "acceptance_notice"}, headers=headers
        )
        assert response.status_code == 401
    unknown = await decide(lifecycle, "app_does_not_exist", "acceptance_notice")
    assert unknown.status_code == 404
    incomplete = await decide(lifecycle, application_id, "certificate_issued")
    assert incomplete.status_code == 422
    assert "registration_number, issued_on, valid_until" in incomplete.text


@pytest.mark.asyncio
async def test_the_same_decision_id_is_applied_once(
    db: AsyncDatabase, lifecycle: Lifecycle
) -> None:
    application_id = await food_other_complete(lifecycle.ops, db)
    first = await decide(lifecycle, application_id, "acceptance_notice", decision_id="dec-42")
    again = await decide(lifecycle, application_id, "acceptance_notice", decision_id="dec-42")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["repeated"] is True
    assert again.json()["to_status"] == "accepted"
    application = await db["applications"].find_one({"_id": application_id})
    assert application is not None
    assert [h["to_status"] for h in application["history"]] == ["under_examination", "accepted"]
    # The validator re-evaluated on the decision (status is part of its inputs).
    result = await wait_for_result_caused_by(db, application_id, "decision:dec-42")
    assert result["status"] == "accepted"


@pytest.mark.asyncio
async def test_the_intake_api_serves_decisions_with_problem_details(
    db: AsyncDatabase, lifecycle: Lifecycle
) -> None:
    application_id = await food_other_complete(lifecycle.ops, db)
    transport = httpx.ASGITransport(app=create_http_app(lifecycle.ops))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        url = f"/v1/applications/{application_id}/decisions"
        refused = await http.post(url, json={"kind": "failure_notice"}, headers=OPS)
        accepted = await http.post(url, json={"kind": "acceptance_notice"}, headers=OPS)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "'failure_notice' cannot be applied" in refused.json()["detail"]
    assert accepted.status_code == 201
    assert accepted.json()["to_status"] == "accepted"
