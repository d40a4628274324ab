"""Registrations: created by a certificate, renewed by a renewal, or imported from CSV.

Each term gets its deadlines from the regime of its filing date (see
``shared.app.registration_lifecycle``): a renewal window with its reminders when a renewal
is possible, and the term's expiry. The unique index on ``number`` makes certificates and
imports idempotent. Ops decide on registrations here too (suspend, cancel, reinstate).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import (
    BaseModel,
    EmailStr,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.app.registration_lifecycle import (
    RegistrationRefused,
    UnknownRegistration,
    close_all,
    grant_renewal,
    move,
    start_term,
    term_record,
)
from shared.domain.calendar import authority_date, day_of, stored_day
from shared.domain.catalog import Catalog, cached_catalog
from shared.domain.clock import Clock
from shared.domain.events import ApplicationDecision
from shared.domain.models import DEFAULT_LANGUAGE, ContactLanguage, new_id
from shared.domain.registration import RegistrationDecisionKind, Term
from shared.domain.search_terms import name_terms
from shared.infra.deadline_store import reopen_deadline
from shared.infra.mongo_types import Database, MongoClient
from shared.infra.outbox import OutboxRelay
from shared.infra.partner_routing import UNKNOWN, CarriedPartner, application_partner_of
from shared.infra.runtime import ServiceContext
from shared.infra.unit_of_work import UnitOfWork, run_unit_of_work

__all__ = [
    "CSV_COLUMNS",
    "OPTIONAL_CSV_COLUMNS",
    "ImportReport",
    "RegistrationRefused",
    "UnknownRegistration",
    "decide_registration",
    "import_registrations",
    "record_certificate",
]

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
# Optional: ``languages``, one per contact email in the same order (';'-separated, en or zh;
# blank or absent: English).
OPTIONAL_CSV_COLUMNS = ("languages",)


def new_registration(
    *,
    number: str,
    category: str,
    product: str | None,
    exporter: dict[str, Any],
    contact_emails: list[str],
    contact_languages: dict[str, str] | None = None,
    issued_on: date,
    valid_until: date,
    application_id: str | None,
    source: str,
    now: datetime,
    partner_id: CarriedPartner = UNKNOWN,
) -> dict[str, Any]:
    """The document of a registration in its first term (not stored yet).

    ``partner_id``: the partner of ``application_id``, recorded on the term.
    """
    term = Term(
        issued_on=issued_on, valid_until=valid_until, application_id=application_id, started_at=now
    )
    return {
        "_id": new_id("reg"),
        "number": number,
        "category": category,
        "product": product,
        "exporter": {"name": exporter.get("name"), "country": exporter.get("country")},
        "exporter_terms": name_terms(exporter.get("name")),  # ops search, by index
        "contact_emails": contact_emails,
        "contact_languages": contact_languages or {},
        "issued_on": stored_day(issued_on),
        "valid_until": stored_day(valid_until),
        "terms": [term_record(term, partner_id)],
        "application_id": application_id,
        "source": source,
        "status": "active",
        "history": [],
        "renewals": [],
        "created_at": now,
        "updated_at": now,
    }


async def record_certificate(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    application: dict[str, Any],
    decision: ApplicationDecision,
    now: datetime,
    service: str,
    reminder_time: str = "09:00",
) -> dict[str, Any]:
    """Create (new) or renew (renewal) the registration; returns fields for the application."""
    assert decision.registration_number
    assert decision.issued_on
    assert decision.valid_until
    registrations = uow.db["registrations"]
    existing = await registrations.find_one(
        {"number": decision.registration_number}, session=uow.session
    )
    if existing is not None and application.get("kind") != "renewal":
        raise RegistrationRefused(
            f"Registration number {decision.registration_number} is already recorded "
            f"(registration {existing['_id']}); a renewal application extends it."
        )
    if existing is None:
        exporter = application.get("exporter") or {}
        doc = new_registration(
            number=decision.registration_number,
            category=application["category"],
            product=application.get("product"),
            exporter=exporter,
            contact_emails=list(exporter.get("contact_emails") or []),
            contact_languages=dict(exporter.get("contact_languages") or {}),
            issued_on=decision.issued_on,
            valid_until=decision.valid_until,
            application_id=application["_id"],
            source="certificate",
            now=now,
            partner_id=application_partner_of(application),
        )
        await registrations.insert_one(doc, session=uow.session)
        await start_term(
            uow,
            catalog=catalog,
            doc=doc,
            now=now,
            service=service,
            actor=decision.actor,
            reminder_time=reminder_time,
        )
    else:
        await grant_renewal(
            uow,
            catalog=catalog,
            doc=existing,
            application_id=application["_id"],
            partner_id=application_partner_of(application),
            issued_on=decision.issued_on,
            valid_until=decision.valid_until,
            now=now,
            service=service,
            actor=decision.actor,
            reminder_time=reminder_time,
        )
    return {
        "registration_number": decision.registration_number,
        "registration_valid_until": stored_day(decision.valid_until),
    }


async def decide_registration(
    ctx: ServiceContext,
    *,
    number: str,
    kind: RegistrationDecisionKind,
    reason: str | None,
    actor: str,
    catalog: Catalog | None = None,
) -> dict[str, Any]:
    """Suspend, cancel or reinstate a registration (an ops decision); the stored result.

    Suspension and cancellation stop every reminder of the registration; reinstatement
    takes the term's reminders up again from now (and reopens a window that is open).
    Raises ``UnknownRegistration`` or ``IllegalRegistrationMove``.
    """
    catalog = catalog or cached_catalog(ctx.settings.catalog_dir)
    now = ctx.clock.now()

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        registrations = uow.db["registrations"]
        doc = await registrations.find_one({"number": number}, session=uow.session)
        if doc is None:
            raise UnknownRegistration(f"There is no registration {number}.")
        doc = await move(uow, doc, kind, actor=actor, now=now, service="ops", reason=reason)
        if kind in ("suspended", "cancelled"):
            await close_all(uow, doc["_id"], f"registration {kind}", now)
        else:
            await _reinstate(uow, catalog, doc, now, actor)
        return await registrations.find_one({"_id": doc["_id"]}, session=uow.session) or doc

    return await ctx.unit_of_work(work)


async def _reinstate(
    uow: UnitOfWork, catalog: Catalog, doc: dict[str, Any], now: datetime, actor: str
) -> None:
    """Reopen the current term's deadlines; an open window opens the renewal again."""
    until = day_of(doc["valid_until"])
    for kind in ("renewal", "expiry"):
        deadline_id = f"dl_{kind}_{doc['number']}_{until:%Y%m%d}"
        await reopen_deadline(uow.db, deadline_id, now, uow.session)
    closes = doc.get("window_closes_on")
    opens = doc.get("window_opens_on")
    today = authority_date(now)
    if closes and day_of(closes) >= today and (opens is None or day_of(opens) <= today):
        await move(
            uow,
            doc,
            "window_opened",
            actor=actor,
            now=now,
            service="ops",
            reason=f"the renewal window is open until {day_of(closes)}",
        )


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
    languages: list[ContactLanguage] = Field(default_factory=list)  # by position in the emails

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

    @field_validator("languages", mode="before")
    @classmethod
    def _split_languages(cls, value: Any) -> Any:
        if isinstance(value, str):  # a blank position keeps its place: that contact reads English
            return (
                [v.strip() or DEFAULT_LANGUAGE for v in value.split(";")] if value.strip() else []
            )
        return value

    @model_validator(mode="after")
    def _a_language_per_contact(self) -> ImportRow:
        if len(self.languages) > len(self.contact_emails):
            raise ValueError(
                f"languages: {len(self.languages)} given for {len(self.contact_emails)} contact emails"
            )
        return self

    @property
    def contact_languages(self) -> dict[str, str]:
        return {str(e): lang for e, lang in zip(self.contact_emails, self.languages, strict=False)}


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
    client: MongoClient,
    db: Database,
    *,
    catalog: Catalog,
    text: str,
    clock: Clock,
    relay: OutboxRelay | None = None,
    progress: Callable[[int, int], None] | None = None,
    reminder_time: str = "09:00",
) -> ImportReport:
    """Import every good row (one unit of work each); bad rows are reported by line.

    ``relay``: publishes the events of each row after its commit; without one (the CLI)
    they wait in the outbox for a service's relay to sweep them up.
    """
    rows, errors = parse_rows(text)
    report = ImportReport(errors=errors)
    now = clock.now()

    async def import_one(row: ImportRow) -> bool:
        return await run_unit_of_work(
            client,
            db,
            lambda uow: _import_one(uow, catalog, row, now, reminder_time),
            clock=clock,
            relay=relay,
        )

    for done, (line, raw) in enumerate(rows, start=1):
        try:
            created = await import_one(check_row(catalog, raw))
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
    uow: UnitOfWork, catalog: Catalog, row: ImportRow, now: datetime, reminder_time: str
) -> bool:
    """Store one row's registration and start its term; False when it is known already."""
    if await uow.db["registrations"].find_one(
        {"number": row.registration_number}, {"_id": 1}, session=uow.session
    ):
        return False  # imported before: the same file twice changes nothing
    registration = new_registration(
        number=row.registration_number,
        category=row.category,
        product=row.product,
        exporter={"name": row.exporter_name, "country": row.country},
        contact_emails=[str(e) for e in row.contact_emails],
        contact_languages=row.contact_languages,
        issued_on=row.issued_on,
        valid_until=row.valid_until,
        application_id=None,
        source="import",
        now=now,
    )
    await uow.db["registrations"].insert_one(registration, session=uow.session)
    await start_term(
        uow,
        catalog=catalog,
        doc=registration,
        now=now,
        service="ops",
        actor="import",
        reminder_time=reminder_time,
    )
    return True
