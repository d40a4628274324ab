"""Registrations: created by a certificate, extended by a renewal, or imported from CSV.

Every registration has its renewal deadline (from the regime's renewal window), so the
scheduler reminds its contacts from day one. The unique index on ``number`` makes
certificates and imports idempotent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, EmailStr, Field, TypeAdapter, ValidationError, field_validator
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.asynchronous.mongo_client import AsyncMongoClient

from shared.domain.catalog import Catalog
from shared.domain.deadlines import Deadline
from shared.domain.events import ApplicationDecision
from shared.domain.models import new_id
from shared.infra.deadline_store import close_deadline, open_deadline
from shared.infra.outbox import in_transaction

CSV_COLUMNS = (
    "registration_number",
    "exporter_name",
    "country",
    "category",
    "product",
    "issued_on",
    "valid_until",
    "contact_emails",
)


class RegistrationRefused(ValueError):
    """The registration cannot be recorded; the message says why."""


def midnight(day: date) -> datetime:
    """Dates are stored as UTC midnight (BSON has no date type)."""
    return datetime.combine(day, time.min, UTC)


def renewal_deadline(catalog: Catalog, registration: dict[str, Any], now: datetime) -> Deadline:
    """The renewal window of ``registration`` as a deadline (raises ``RegistrationRefused``)."""
    valid_until: date = registration["valid_until"].date()
    regime = catalog.regime_for(registration["category"], "renewal", valid_until)
    if regime is None:
        ended = catalog.ended_regime_for(registration["category"], valid_until)
        why = ended.closed_reason if ended and ended.closed_reason else "no regime is in force"
        raise RegistrationRefused(
            f"{registration['category']} registrations expiring on {valid_until} cannot be "
            f"renewed: {why}"
        )
    window = regime.windows.renewal
    closes = valid_until - relativedelta(months=window.closes_months_before_expiry)
    exporter = registration.get("exporter") or {}
    return Deadline(
        _id=f"dl_renewal_{registration['number']}_{valid_until:%Y%m%d}",
        kind="renewal",
        subject=registration["number"],
        registration_id=registration["_id"],
        application_id=registration.get("application_id"),
        due_at=midnight(closes),
        expires_at=registration["valid_until"],
        opened_at=now,
        reminder_offsets_days=regime.windows.reminder_offsets_days.get("renewal", []),
        on_missed=regime.windows.on_missed.get("renewal"),
        source=f"{regime.id}: {window.source}",
        registration_number=registration["number"],
        exporter_name=exporter.get("name"),
        product=registration.get("product"),
        contact_emails=list(registration.get("contact_emails") or []),
    )


async def record_certificate(
    db: AsyncDatabase,
    session: AsyncClientSession,
    *,
    catalog: Catalog,
    application: dict[str, Any],
    decision: ApplicationDecision,
    now: datetime,
) -> dict[str, Any]:
    """Create (new) or extend (renewal) the registration; returns fields for the application."""
    assert decision.registration_number and decision.issued_on and decision.valid_until
    registrations = db["registrations"]
    existing = await registrations.find_one(
        {"number": decision.registration_number}, session=session
    )
    valid_until = midnight(decision.valid_until)
    if existing is not None and application.get("kind") != "renewal":
        raise RegistrationRefused(
            f"Registration number {decision.registration_number} is already recorded "
            f"(registration {existing['_id']}); a renewal application extends it."
        )
    if existing is None:
        exporter = application.get("exporter") or {}
        existing = {
            "_id": new_id("reg"),
            "number": decision.registration_number,
            "category": application["category"],
            "product": application.get("product"),
            "exporter": {"name": exporter.get("name"), "country": exporter.get("country")},
            "contact_emails": list(exporter.get("contact_emails") or []),
            "issued_on": midnight(decision.issued_on),
            "valid_until": valid_until,
            "application_id": application["_id"],
            "source": "certificate",
            "status": "active",
            "renewals": [],
            "created_at": now,
            "updated_at": now,
        }
        await registrations.insert_one(existing, session=session)
    else:
        await _extend(db, session, existing, decision, application["_id"], now)
        existing = {**existing, "valid_until": valid_until}
    await open_deadline(db, renewal_deadline(catalog, existing, now), session)
    return {
        "registration_number": decision.registration_number,
        "registration_valid_until": valid_until,
    }


async def _extend(
    db: AsyncDatabase,
    session: AsyncClientSession,
    registration: dict[str, Any],
    decision: ApplicationDecision,
    application_id: str,
    now: datetime,
) -> None:
    """A completed renewal: new validity, the old renewal window closed."""
    assert decision.valid_until and decision.issued_on
    await db["registrations"].update_one(
        {"_id": registration["_id"]},
        {
            "$set": {
                "valid_until": midnight(decision.valid_until),
                "status": "active",
                "updated_at": now,
            },
            "$push": {
                "renewals": {
                    "application_id": application_id,
                    "issued_on": midnight(decision.issued_on),
                    "previous_valid_until": registration["valid_until"],
                    "valid_until": midnight(decision.valid_until),
                    "at": now,
                }
            },
        },
        session=session,
    )
    cursor = db["deadlines"].find(
        {"subject": registration["number"], "kind": "renewal", "status": "open"},
        {"_id": 1},
        session=session,
    )
    async for deadline in cursor:
        await close_deadline(db, deadline["_id"], "renewed", now, session)


class ImportRow(BaseModel):
    """One CSV line of existing registrations."""

    registration_number: str = Field(min_length=1, max_length=64)
    exporter_name: str = Field(min_length=1, max_length=300)
    country: str = Field(min_length=2, max_length=64)
    category: str
    product: str | None = None
    issued_on: date
    valid_until: date
    contact_emails: list[EmailStr] = Field(default_factory=list)

    @field_validator("product", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return value or None

    @field_validator("contact_emails", mode="before")
    @classmethod
    def _split_emails(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [e.strip() for e in value.split(";") if e.strip()]
        return value


@dataclass
class ImportReport:
    imported: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)  # {"line": n, "message": ...}

    def as_dict(self) -> dict[str, Any]:
        return {"imported": self.imported, "unchanged": self.unchanged, "errors": self.errors}


_ROWS = TypeAdapter(ImportRow)


def parse_rows(text: str) -> tuple[list[tuple[int, dict[str, str]]], list[dict[str, Any]]]:
    """CSV text -> (line number, raw row) pairs, or a header error."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    absent = [c for c in CSV_COLUMNS if c not in header]
    if absent:
        message = f"the header row lacks {', '.join(absent)}; expected: {','.join(CSV_COLUMNS)}"
        return [], [{"line": 1, "message": message}]
    rows = []
    for raw in reader:
        if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            continue  # blank line
        rows.append((reader.line_num, {k.strip(): (v or "").strip() for k, v in raw.items() if k}))
    return rows, []


def check_row(catalog: Catalog, raw: dict[str, str]) -> ImportRow:
    """A checked row; raises ``RegistrationRefused`` with a message naming the field."""
    try:
        row = _ROWS.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        column = ".".join(str(p) for p in first["loc"][:1])
        raise RegistrationRefused(f"{column}: {first['msg']}") from None
    if row.category not in catalog.categories:
        raise RegistrationRefused(f"category: unknown category {row.category!r}")
    products = catalog.products_for(row.category)
    if row.product and products and row.product not in products:
        raise RegistrationRefused(f"product: {row.product!r} is no product of {row.category}")
    if row.valid_until <= row.issued_on:
        raise RegistrationRefused("valid_until: must be after issued_on")
    return row


async def import_registrations(
    client: AsyncMongoClient,
    db: AsyncDatabase,
    *,
    catalog: Catalog,
    text: str,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import every good row (one transaction each); bad rows are reported by line."""
    rows, errors = parse_rows(text)
    report = ImportReport(errors=errors)
    for done, (line, raw) in enumerate(rows, start=1):
        try:
            row = check_row(catalog, raw)
            created = await _import_one(client, db, catalog, row, now)
        except RegistrationRefused as exc:
            report.errors.append({"line": line, "message": str(exc)})
        else:
            if created:
                report.imported += 1
            else:
                report.unchanged += 1
        if progress is not None:
            progress(done, len(rows))
    return report


async def _import_one(
    client: AsyncMongoClient, db: AsyncDatabase, catalog: Catalog, row: ImportRow, now: datetime
) -> bool:
    registration = {
        "_id": new_id("reg"),
        "number": row.registration_number,
        "category": row.category,
        "product": row.product,
        "exporter": {"name": row.exporter_name, "country": row.country},
        "contact_emails": [str(e) for e in row.contact_emails],
        "issued_on": midnight(row.issued_on),
        "valid_until": midnight(row.valid_until),
        "application_id": None,
        "source": "import",
        "status": "active",
        "renewals": [],
        "created_at": now,
        "updated_at": now,
    }
    deadline = renewal_deadline(catalog, registration, now)  # refuses before any write

    async def work(session: AsyncClientSession) -> bool:
        if await db["registrations"].find_one(
            {"number": row.registration_number}, {"_id": 1}, session=session
        ):
            return False  # imported before: the same file twice changes nothing
        await db["registrations"].insert_one(registration, session=session)
        await open_deadline(db, deadline, session)
        return True

    return await in_transaction(client, work)
