"""Registrations as the lead's code stores them, seeded straight into MongoDB for the read
side: the record, its renewal and expiry deadlines with their reminders, events and emails."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.app.registrations import CSV_COLUMNS, import_registrations
from shared.domain.calendar import end_of_day, start_of_day, stored_day
from shared.domain.catalog import cached_catalog
from shared.domain.deadlines import Deadline
from shared.domain.models import new_id
from shared.infra.deadline_store import open_deadline
from shared.infra.runtime import ServiceContext


@dataclass
class Seeded:
    id: str
    number: str
    renewal_id: str
    expiry_id: str


def number() -> str:
    return f"CHN{uuid.uuid4().hex[:10].upper()}"


def history_line(frm: str | None, to: str, trigger: str, at: datetime) -> dict[str, Any]:
    return {
        "from_status": frm,
        "to_status": to,
        "trigger": trigger,
        "actor": "system",
        "reason": None,
        "at": at,
        "application_id": None,
    }


async def seed_registration(
    db: AsyncDatabase,
    *,
    today: date,
    status: str = "active",
    opens_in: int = 40,
    closes_in: int = 130,
    ends_in: int = 220,
    registration_number: str | None = None,
    history: list[dict[str, Any]] | None = None,
) -> Seeded:
    """A registration whose window runs ``today+opens_in`` .. ``today+closes_in`` and whose
    term ends ``today+ends_in``, with its two deadlines and their pending reminders."""
    reg_id, num = new_id("reg"), registration_number or number()
    issued, valid_until = today - timedelta(days=1500), today + timedelta(days=ends_in)
    opens, closes = today + timedelta(days=opens_in), today + timedelta(days=closes_in)
    now = datetime.now(UTC)
    await db["registrations"].insert_one(
        {
            "_id": reg_id,
            "number": num,
            "category": "food.dairy",
            "product": "milk_powder",
            "exporter": {"name": "Fjord Dairy AS", "country": "NO"},
            "contact_emails": ["export@fjord.example"],
            "status": status,
            "terms": [
                {
                    "issued_on": stored_day(issued),
                    "valid_until": stored_day(valid_until),
                    "application_id": None,
                    "started_at": now,
                }
            ],
            "issued_on": stored_day(issued),
            "valid_until": stored_day(valid_until),
            "window_opens_on": stored_day(opens),
            "window_closes_on": stored_day(closes),
            "renewable": True,
            "not_renewable_reason": None,
            "renewal_application_id": None,
            "history": history or [history_line(None, "active", "imported", now)],
            "source": "import",
            "application_id": None,
            "created_at": now,
            "updated_at": now,
        }
    )
    renewal = Deadline(
        _id=f"dl_renewal_{num}",
        kind="renewal",
        subject=num,
        registration_id=reg_id,
        opens_at=start_of_day(opens),
        due_at=end_of_day(closes),
        expires_at=end_of_day(valid_until),
        opening_notice_days=30,
        opened_at=now,
        reminder_offsets_days=[90, 30],
    )
    expiry = Deadline(
        _id=f"dl_expiry_{num}",
        kind="expiry",
        subject=num,
        registration_id=reg_id,
        due_at=end_of_day(valid_until),
        expires_at=end_of_day(valid_until),
        opened_at=now,
        reminder_offsets_days=[90],
    )
    for deadline in (renewal, expiry):
        await open_deadline(db, deadline)
    return Seeded(reg_id, num, renewal.id, expiry.id)


async def seed_old_registration(db: AsyncDatabase, *, today: date, closes_in: int) -> str:
    """A record written before the registration lifecycle: no status, terms, history or
    window days; only its renewal deadline knows the window."""
    num, reg_id = number(), new_id("reg")
    valid_until = today + timedelta(days=closes_in + 90)
    now = datetime.now(UTC)
    await db["registrations"].insert_one(
        {
            "_id": reg_id,
            "number": num,
            "category": "food.dairy",
            "product": None,
            "exporter": {"name": "Old Farm Ltd", "country": "IE"},
            "contact_emails": [],
            "issued_on": stored_day(today - timedelta(days=1000)),
            "valid_until": stored_day(valid_until),
            "application_id": None,
            "source": "import",
            "renewals": [],
            "created_at": now,
            "updated_at": now,
        }
    )
    await open_deadline(
        db,
        Deadline(
            _id=f"dl_renewal_{num}",
            kind="renewal",
            subject=num,
            registration_id=reg_id,
            due_at=end_of_day(today + timedelta(days=closes_in)),
            expires_at=end_of_day(valid_until),
            opened_at=now,
            reminder_offsets_days=[30],
        ),
    )
    return num


async def emit_with_email(
    db: AsyncDatabase, reminder_id: str, recipient: str, subject: str
) -> None:
    """The scheduler emitted this reminder and the notifier sent its email."""
    event_id = f"reminder:{reminder_id}"
    await db["reminders"].update_one(
        {"_id": reminder_id}, {"$set": {"status": "emitted", "event_id": event_id}}
    )
    await db["deliveries"].insert_one(
        delivery(event_id, "deadline.renewal_window_opens", recipient, subject)
    )


async def status_event_with_email(
    db: AsyncDatabase, registration_number: str, recipient: str, subject: str
) -> None:
    """A ``registration.status_changed`` event in the outbox, and its email."""
    event_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    await db["outbox"].insert_one(
        {
            "_id": event_id,
            "type": "registration.status_changed",
            "subject": registration_number,
            "time": now,
            # The envelope as the dashboard's event log reads it (no payload needed here).
            "event": {
                "id": event_id,
                "type": "registration.status_changed",
                "time": now.isoformat(),
                "subject": registration_number,
                "data": {},
            },
            "status": "sent",
            "available_at": now,
            "attempts": 1,
            "created_at": now,
        }
    )
    await db["deliveries"].insert_one(
        delivery(event_id, "registration.status_changed", recipient, subject)
    )


def delivery(event_id: str, event_type: str, recipient: str, subject: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "_id": f"{event_id}|{recipient}",
        "event_id": event_id,
        "event_type": event_type,
        "recipient": recipient,
        "subject": subject,
        "status": "sent",
        "attempts": 1,
        "created_at": now,
        "updated_at": now,
        "sent_at": now,
    }


async def imported_registration(ctx: ServiceContext, *, valid_until: date) -> str:
    """A dairy registration imported through the application layer (the real writer)."""
    num = number()
    row = f"{num},Fjord Dairy AS,NO,food.dairy,milk_powder,2022-01-10,{valid_until},export@fjord.example"
    report = await import_registrations(
        ctx.client,
        ctx.db,
        catalog=cached_catalog(ctx.settings.catalog_dir),
        text=",".join(CSV_COLUMNS) + "\n" + row + "\n",
        clock=ctx.clock,
        relay=ctx.relay,
    )
    assert report.imported == 1, report.errors
    return num
