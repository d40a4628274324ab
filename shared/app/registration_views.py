"""What ops read about registrations: the list and one registration in full.

Shared by the dashboard, the intake's ops API and the ``regwatch`` CLI. Records written
before the registration lifecycle (no status, terms, history or window days) are read
defensively: their window comes from their renewal deadline, their one term from
``issued_on``/``valid_until``. Days are shown as plain dates (the authority's days).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from shared.domain.calendar import AUTHORITY_TZ, authority_date, day_of, stored_day
from shared.domain.deadlines import last_day
from shared.domain.registration import (
    REGISTRATION_DECISIONS,
    REGISTRATION_STATES,
    REGISTRATION_TRANSITIONS,
)
from shared.infra.mongo_types import Database

# Deadlines that belong to a registration (the others belong to applications).
REGISTRATION_DEADLINE_KINDS = ("renewal", "expiry")
DEFAULT_PAGE_SIZE = 50


class RegistrationNotFound(LookupError):
    """No registration has this number."""

    def __init__(self, number: str) -> None:
        super().__init__(f"There is no registration {number}.")
        self.number = number


class UnknownRegistrationStatus(ValueError):
    """A status filter that names no registration status."""

    def __init__(self, status: str) -> None:
        super().__init__(
            f"{status!r} is no registration status; use one of: {', '.join(REGISTRATION_STATES)}"
        )


class NextReminder(BaseModel):
    point: str
    event_type: str
    fire_at: datetime
    deadline_kind: str


class RegistrationSummary(BaseModel):
    """One line of the registrations list."""

    id: str
    number: str
    exporter: str
    country: str | None = None
    category: str
    product: str | None = None
    status: str
    issued_on: date | None = None
    valid_until: date | None = None
    window_opens_on: date | None = None
    window_closes_on: date | None = None
    renewable: bool = True
    next_reminder: NextReminder | None = None
    updated_at: datetime | None = None


class RegistrationPage(BaseModel):
    total: int
    offset: int
    limit: int
    rows: list[RegistrationSummary]


class TermView(BaseModel):
    issued_on: date
    valid_until: date
    application_id: str | None = None
    started_at: datetime | None = None


class ReminderLine(BaseModel):
    id: str
    point: str
    event_type: str
    fire_at: datetime
    status: str


class DeadlineLine(BaseModel):
    id: str
    kind: str
    status: str
    opens_on: date | None = None
    last_day: date
    due_at: datetime
    closed_reason: str | None = None
    source: str | None = None
    reminders: list[ReminderLine] = Field(default_factory=list)


class HistoryLine(BaseModel):
    from_status: str | None = None
    to_status: str
    trigger: str | None = None
    actor: str | None = None
    reason: str | None = None
    at: datetime
    application_id: str | None = None


class EmailLine(BaseModel):
    event_id: str
    event_type: str | None = None
    recipient: str | None = None
    subject: str | None = None
    status: str
    at: datetime | None = None
    reason: str | None = None


class RegistrationDetail(BaseModel):
    registration: RegistrationSummary
    contact_emails: list[str]
    not_renewable_reason: str | None = None
    renewal_application_id: str | None = None
    application_id: str | None = None
    source: str | None = None
    terms: list[TermView]
    deadlines: list[DeadlineLine]
    history: list[HistoryLine]
    emails: list[EmailLine]
    allowed_decisions: list[str]  # the ops decisions its status allows now


def beijing_time(instant: datetime) -> str:
    """An instant as people read it next to the authority's days: Beijing time, zone named."""
    return instant.astimezone(AUTHORITY_TZ).strftime("%Y-%m-%d %H:%M") + " Beijing time"


def reminder_text(reminder: NextReminder | None) -> str:
    """``T-30d deadline.renewal_due on 2026-04-01 09:00 Beijing time``, or ``none``."""
    if reminder is None:
        return "none"
    return f"{reminder.point} {reminder.event_type} on {beijing_time(reminder.fire_at)}"


def allowed_decisions(status: str) -> list[str]:
    """The ops decisions (suspended, cancelled, reinstated) allowed in ``status``."""
    return [k for k in REGISTRATION_DECISIONS if (status, k) in REGISTRATION_TRANSITIONS]


def _day(value: Any) -> date | None:
    return day_of(value) if isinstance(value, datetime | date) else None


def terms_of(registration: dict[str, Any]) -> list[TermView]:
    """The registration's terms; an old record's single term from its own dates."""
    terms = [TermView.model_validate(_plain_days(t)) for t in registration.get("terms") or []]
    if terms or registration.get("valid_until") is None:
        return terms
    return [
        TermView(
            issued_on=day_of(registration.get("issued_on") or registration["valid_until"]),
            valid_until=day_of(registration["valid_until"]),
            application_id=registration.get("application_id"),
            started_at=registration.get("created_at"),
        )
    ]


def _plain_days(term: dict[str, Any]) -> dict[str, Any]:
    return {**term, "issued_on": _day(term["issued_on"]), "valid_until": _day(term["valid_until"])}


def window_days(
    registration: dict[str, Any], renewal: dict[str, Any] | None
) -> tuple[date | None, date | None]:
    """The renewal window's first and last day: stored on the record, else from its deadline."""
    opens = _day(registration.get("window_opens_on"))
    closes = _day(registration.get("window_closes_on"))
    if renewal is not None:
        if opens is None and renewal.get("opens_at") is not None:
            opens = authority_date(renewal["opens_at"])
        if closes is None:
            closes = last_day(renewal["due_at"])
    return opens, closes


def next_reminder(
    deadlines: list[dict[str, Any]], reminders: list[dict[str, Any]]
) -> NextReminder | None:
    """The earliest pending reminder over the registration's open deadlines."""
    kinds = {d["_id"]: d["kind"] for d in deadlines if d.get("status") == "open"}
    pending = [r for r in reminders if r.get("status") == "pending" and r["deadline_id"] in kinds]
    if not pending:
        return None
    first = min(pending, key=lambda r: r["fire_at"])
    return NextReminder(
        point=first["point"],
        event_type=first["event_type"],
        fire_at=first["fire_at"],
        deadline_kind=kinds[first["deadline_id"]],
    )


def _current_renewal(deadlines: list[dict[str, Any]]) -> dict[str, Any] | None:
    renewals = [d for d in deadlines if d["kind"] == "renewal"]
    return max(renewals, key=lambda d: d["due_at"]) if renewals else None


def summary_of(
    registration: dict[str, Any],
    deadlines: list[dict[str, Any]],
    reminders: list[dict[str, Any]],
) -> RegistrationSummary:
    """One list line from the stored registration, its deadlines and their reminders (pure)."""
    exporter = registration.get("exporter") or {}
    opens, closes = window_days(registration, _current_renewal(deadlines))
    return RegistrationSummary(
        id=registration["_id"],
        number=registration["number"],
        exporter=exporter.get("name") or "?",
        country=exporter.get("country"),
        category=registration.get("category", "?"),
        product=registration.get("product"),
        status=registration.get("status") or "active",
        issued_on=_day(registration.get("issued_on")),
        valid_until=_day(registration.get("valid_until")),
        window_opens_on=opens,
        window_closes_on=closes,
        renewable=bool(registration.get("renewable", True)),
        next_reminder=next_reminder(deadlines, reminders),
        updated_at=registration.get("updated_at") or registration.get("created_at"),
    )


def list_query(*, status: str | None, within_days: int | None, now: datetime) -> dict[str, Any]:
    """The MongoDB filter: a status, and/or a window close or term end from today to N days on.

    Days are counted in the authority's calendar; "within 0 days" means today.
    """
    clauses: list[dict[str, Any]] = []
    if status:
        if status not in REGISTRATION_STATES:
            raise UnknownRegistrationStatus(status)
        if status == "active":  # records older than the lifecycle have no status
            clauses.append({"$or": [{"status": "active"}, {"status": {"$exists": False}}]})
        else:
            clauses.append({"status": status})
    if within_days is not None:
        today = authority_date(now)
        span = {"$gte": stored_day(today), "$lte": stored_day(today + timedelta(days=within_days))}
        clauses.append({"$or": [{"window_closes_on": span}, {"valid_until": span}]})
    return {"$and": clauses} if clauses else {}


async def _deadlines_of(db: Database, registrations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [r["_id"] for r in registrations]
    numbers = [r["number"] for r in registrations]
    query = {
        "kind": {"$in": list(REGISTRATION_DEADLINE_KINDS)},
        "$or": [{"registration_id": {"$in": ids}}, {"subject": {"$in": numbers}}],
    }
    return await db["deadlines"].find(query).sort("due_at", 1).to_list()


def _owned(registration: dict[str, Any], deadlines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        d
        for d in deadlines
        if d.get("registration_id") == registration["_id"] or d["subject"] == registration["number"]
    ]


async def reminders_of(db: Database, deadlines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The reminder points of ``deadlines``, soonest first."""
    ids = [d["_id"] for d in deadlines]
    return await db["reminders"].find({"deadline_id": {"$in": ids}}).sort("fire_at", 1).to_list()


async def list_registrations(
    *,
    db: Database,
    now: datetime,
    status: str | None = None,
    within_days: int | None = None,
    offset: int = 0,
    limit: int = DEFAULT_PAGE_SIZE,
) -> RegistrationPage:
    """Registrations, the soonest term end first, filtered and paged.

    ``within_days``: the window closes or the term ends between today and that many days
    on. Raises ``UnknownRegistrationStatus`` for a status that does not exist.
    """
    query = list_query(status=status, within_days=within_days, now=now)
    total = await db["registrations"].count_documents(query)
    cursor = (
        db["registrations"]
        .find(query)
        .sort([("valid_until", 1), ("number", 1)])
        .skip(offset)
        .limit(limit)
    )
    registrations = await cursor.to_list()
    deadlines = await _deadlines_of(db, registrations)
    reminders = await reminders_of(db, deadlines)
    rows = []
    for registration in registrations:
        own = _owned(registration, deadlines)
        ids = {d["_id"] for d in own}
        rows.append(
            summary_of(registration, own, [r for r in reminders if r["deadline_id"] in ids])
        )
    return RegistrationPage(total=total, offset=offset, limit=limit, rows=rows)


def deadline_lines(
    deadlines: list[dict[str, Any]], reminders: list[dict[str, Any]]
) -> list[DeadlineLine]:
    return [
        DeadlineLine(
            id=d["_id"],
            kind=d["kind"],
            status=d["status"],
            opens_on=authority_date(d["opens_at"]) if d.get("opens_at") else None,
            last_day=last_day(d["due_at"]),
            due_at=d["due_at"],
            closed_reason=d.get("closed_reason"),
            source=d.get("source"),
            reminders=reminder_lines(reminders, d["_id"]),
        )
        for d in deadlines
    ]


def reminder_lines(reminders: list[dict[str, Any]], deadline_id: str) -> list[ReminderLine]:
    """The lines of the reminders of deadline ``deadline_id``, in the order given."""
    return [
        ReminderLine(
            id=r["_id"],
            point=r["point"],
            event_type=r["event_type"],
            fire_at=r["fire_at"],
            status=r["status"],
        )
        for r in reminders
        if r["deadline_id"] == deadline_id
    ]


async def emails_of(
    db: Database, *, number: str, reminders: list[dict[str, Any]]
) -> list[EmailLine]:
    """Emails about the registration: for its reminders and its own events, newest first."""
    event_ids = {r.get("event_id") or f"reminder:{r['_id']}" for r in reminders}
    # Its own events (registration.status_changed, ...) carry its number as their subject.
    async for entry in db["outbox"].find({"subject": number}, {"_id": 1}):
        event_ids.add(str(entry["_id"]))
    cursor = db["deliveries"].find({"event_id": {"$in": sorted(event_ids)}})
    emails = [
        EmailLine(
            event_id=str(d["event_id"]),
            event_type=d.get("event_type"),
            recipient=d.get("recipient"),
            subject=d.get("subject"),
            status=str(d.get("status", "?")),
            at=d.get("sent_at") or d.get("updated_at") or d.get("created_at"),
            reason=d.get("reason") or d.get("last_error"),
        )
        async for d in cursor
    ]
    return sorted(emails, key=lambda e: (e.at is not None, e.at), reverse=True)


async def registration_detail(*, db: Database, number: str) -> RegistrationDetail:
    """Everything known about one registration; raises ``RegistrationNotFound``."""
    registration = await db["registrations"].find_one({"number": number})
    if registration is None:
        raise RegistrationNotFound(number)
    deadlines = await _deadlines_of(db, [registration])
    reminders = await reminders_of(db, deadlines)
    summary = summary_of(registration, deadlines, reminders)
    return RegistrationDetail(
        registration=summary,
        contact_emails=[str(e) for e in registration.get("contact_emails") or []],
        not_renewable_reason=registration.get("not_renewable_reason"),
        renewal_application_id=registration.get("renewal_application_id"),
        application_id=registration.get("application_id"),
        source=registration.get("source"),
        terms=terms_of(registration),
        deadlines=deadline_lines(deadlines, reminders),
        history=[HistoryLine.model_validate(h) for h in registration.get("history") or []],
        emails=await emails_of(db, number=number, reminders=reminders),
        allowed_decisions=allowed_decisions(summary.status),
    )
