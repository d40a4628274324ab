"""Renewals: an imported registration is renewed by a renewal application and a certificate."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.domain.deadlines import last_day
from tests.integration.lifecycle_support import (
    OPS,
    Lifecycle,
    deliver,
    new_application,
    wait_for_status,
)

HEADER = "registration_number,exporter_name,country,category,product,issued_on,valid_until,contact_emails"


async def imported_registration(lifecycle: Lifecycle, valid_until: str) -> str:
    number = f"CIFM{uuid.uuid4().hex[:8].upper()}"
    row = f"{number},Fjord Dairy AS,NO,food.dairy,milk_powder,2022-03-01,{valid_until},ops@fjord.example"
    response = await lifecycle.http.post(
        "/v1/registrations/import",
        content=f"{HEADER}\n{row}\n",
        headers={**OPS, "Content-Type": "text/csv"},
    )
    assert response.json()["imported"] == 1, response.text
    return number


async def renewal_application(db: AsyncDatabase, number: str, valid_until: datetime) -> str:
    return await new_application(
        db,
        category="food.dairy",
        product="milk_powder",
        kind="renewal",
        registration_number=number,
        registration_valid_until=valid_until,
    )


async def send_renewal_documents(lifecycle: Lifecycle, application_id: str) -> None:
    await deliver(lifecycle.ops, application_id, "renewal_application_form", language="zh")
    await deliver(
        lifecycle.ops,
        application_id,
        "commercial_certificate",
        language="en",
        expiry_date="2030-01-01",
    )
    await deliver(lifecycle.ops, application_id, "compliance_declaration", language="en")


@pytest.mark.asyncio
async def test_a_completed_renewal_extends_the_registration_and_its_renewal_window(
    db: AsyncDatabase, lifecycle: Lifecycle
) -> None:
    now = lifecycle.ops.clock.now()
    expiry = datetime.combine((now + timedelta(days=120)).date(), time.min, UTC)
    number = await imported_registration(lifecycle, expiry.date().isoformat())
    old_window = await db["deadlines"].find_one({"subject": number, "kind": "renewal"})
    assert old_window is not None
    assert old_window["status"] == "open"

    application_id = await renewal_application(db, number, expiry)
    await send_renewal_documents(lifecycle, application_id)
    await wait_for_status(db, application_id, "under_examination")
    new_expiry = (expiry + timedelta(days=5 * 365)).date().isoformat()
    response = await lifecycle.http.post(
        f"/v1/applications/{application_id}/decisions",
        json={
            "kind": "certificate_issued",
            "registration_number": number,
            "issued_on": now.date().isoformat(),
            "valid_until": new_expiry,
        },
        headers=OPS,
    )
    assert response.status_code == 201, response.text
    assert response.json()["to_status"] == "renewed"

    registration = await db["registrations"].find_one({"number": number})
    assert registration is not None
    assert registration["valid_until"].date().isoformat() == new_expiry
    [renewal] = registration["renewals"]
    assert renewal["previous_valid_until"] == expiry
    assert renewal["application_id"] == application_id
    old_window = await db["deadlines"].find_one({"_id": old_window["_id"]})
    assert old_window is not None
    assert (old_window["status"], old_window["closed_reason"]) == (
        "closed",
        "renewed: a new term started",
    )
    old_expiry = await db["deadlines"].find_one(
        {
            "subject": number,
            "kind": "expiry",
            "_id": {"$ne": f"dl_expiry_{number}_{new_expiry.replace('-', '')}"},
        }
    )
    assert old_expiry is not None
    assert old_expiry["status"] == "closed"  # no expiry notice
    windows = await db["deadlines"].find({"subject": number, "status": "open"}).to_list()
    assert {w["kind"] for w in windows} == {"renewal", "expiry"}
    assert {last_day(w["expires_at"]).isoformat() for w in windows} == {new_expiry}
    assert registration["status"] in ("renewed", "renewal_open")
    assert [t["valid_until"].date().isoformat() for t in registration["terms"]][-1] == new_expiry
    assert await db["registrations"].count_documents({"number": number}) == 1


@pytest.mark.asyncio
async def test_a_renewal_after_its_window_closed_is_refused(
    db: AsyncDatabase, lifecycle: Lifecycle
) -> None:
    now = lifecycle.ops.clock.now()
    expiry = datetime.combine((now + timedelta(days=30)).date(), time.min, UTC)
    number = await imported_registration(lifecycle, expiry.date().isoformat())
    application_id = await renewal_application(db, number, expiry)
    await deliver(lifecycle.ops, application_id, "renewal_application_form", language="zh")
    application = await wait_for_status(db, application_id, "refused")
    reason = application["history"][-1]["reason"]
    assert "after the renewal window closed on" in reason
    assert "(3 months before expiry on" in reason
