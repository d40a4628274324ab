"""What ops look at, read from MongoDB: shared by the dashboard and the ``regwatch`` CLI.

Every function is keyword-only, takes the database and (where time matters) ``now`` from
the caller's clock, and returns pydantic models that the JSON API serves as they are.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from shared.app.event_lines import EventLine, event_line
from shared.app.registration_views import ReminderLine, reminder_lines, reminders_of
from shared.domain.calendar import day_of
from shared.domain.reading import ReadingFacts
from shared.infra.mongo_types import Database
from shared.infra.queue_report import QueueReport

DEADLINE_HORIZONS_DAYS = (7, 30, 90)


class StatusCount(BaseModel):
    status: str
    category: str
    count: int


class HourCount(BaseModel):
    hour: datetime
    count: int


class DeadlinesDue(BaseModel):
    overdue: int
    within_days: dict[int, int]  # 7 -> open deadlines due within 7 days (overdue excluded)


class Overview(BaseModel):
    generated_at: datetime
    applications: list[StatusCount]
    applications_total: int
    documents_today: int
    documents_per_hour: list[HourCount]
    verdicts: dict[str, int]
    deadlines: DeadlinesDue
    reminders: dict[str, int]  # reminder points by status (pending, emitted, skipped...)
    deliveries: dict[str, int]  # emails by status (sent, failed)


def start_of_day(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


async def _count_by(db: Database, collection: str, field: str) -> dict[str, int]:
    rows = await (
        await db[collection].aggregate([{"$group": {"_id": f"${field}", "n": {"$sum": 1}}}])
    ).to_list()
    return {str(row["_id"]): int(row["n"]) for row in rows}


async def applications_by_status(*, db: Database) -> list[StatusCount]:
    pipeline: list[dict[str, Any]] = [
        {"$group": {"_id": {"s": "$status", "c": "$category"}, "n": {"$sum": 1}}},
        {"$sort": {"_id.s": 1, "_id.c": 1}},
    ]
    rows = await (await db["applications"].aggregate(pipeline)).to_list()
    return [
        StatusCount(status=str(r["_id"]["s"]), category=str(r["_id"]["c"]), count=int(r["n"]))
        for r in rows
    ]


async def documents_per_hour(*, db: Database, now: datetime) -> list[HourCount]:
    """Documents received today, per hour, midnight (UTC) to the current hour."""
    midnight = start_of_day(now)
    counts = {h: 0 for h in range(now.hour + 1)}
    cursor = db["documents"].find({"received_at": {"$gte": midnight}}, {"received_at": 1})
    async for document in cursor:
        hour = document["received_at"].hour
        counts[hour] = counts.get(hour, 0) + 1
    return [HourCount(hour=midnight + timedelta(hours=h), count=n) for h, n in counts.items()]


async def latest_verdicts(*, db: Database) -> dict[str, int]:
    """How many applications stand at each verdict, by their latest validation result."""
    pipeline: list[dict[str, Any]] = [
        {"$sort": {"evaluated_at": -1}},
        {"$group": {"_id": "$application_id", "verdict": {"$first": "$verdict"}}},
        {"$group": {"_id": "$verdict", "n": {"$sum": 1}}},
    ]
    rows = await (await db["validation_results"].aggregate(pipeline)).to_list()
    return {str(r["_id"]): int(r["n"]) for r in rows}


async def deadlines_due(*, db: Database, now: datetime) -> DeadlinesDue:
    deadlines = db["deadlines"]
    overdue = await deadlines.count_documents({"status": "open", "due_at": {"$lt": now}})
    within = {
        days: await deadlines.count_documents(
            {"status": "open", "due_at": {"$gte": now, "$lt": now + timedelta(days=days)}}
        )
        for days in DEADLINE_HORIZONS_DAYS
    }
    return DeadlinesDue(overdue=overdue, within_days=within)


async def overview(*, db: Database, now: datetime) -> Overview:
    """The numbers on the dashboard's front page."""
    applications = await applications_by_status(db=db)
    per_hour = await documents_per_hour(db=db, now=now)
    return Overview(
        generated_at=now,
        applications=applications,
        applications_total=sum(a.count for a in applications),
        documents_today=sum(h.count for h in per_hour),
        documents_per_hour=per_hour,
        verdicts=await latest_verdicts(db=db),
        deadlines=await deadlines_due(db=db, now=now),
        reminders=await _count_by(db, "reminders", "status"),
        deliveries=await _count_by(db, "deliveries", "status"),
    )


class ApplicationSummary(BaseModel):
    id: str
    exporter: str
    country: str | None = None
    category: str
    product: str | None = None
    kind: str
    status: str
    waiting_until: date | None = None  # waiting_for_window: the renewal window's opening day
    registration_number: str | None = None
    partner_id: str
    updated_at: datetime


def _summary(doc: dict[str, Any]) -> ApplicationSummary:
    exporter = doc.get("exporter") or {}
    return ApplicationSummary(
        id=doc["_id"],
        exporter=exporter.get("name", "?"),
        country=exporter.get("country"),
        category=doc.get("category", "?"),
        product=doc.get("product"),
        kind=doc.get("kind", "?"),
        status=doc.get("status", "?"),
        waiting_until=day_of(doc["waiting_until"]) if doc.get("waiting_until") else None,
        registration_number=doc.get("registration_number"),
        partner_id=doc.get("partner_id", "?"),
        updated_at=doc.get("updated_at") or doc["created_at"],
    )


async def list_applications(
    *,
    db: Database,
    status: str | None = None,
    category: str | None = None,
    partner_id: str | None = None,
    limit: int = 100,
) -> list[ApplicationSummary]:
    """Applications, most recently changed first, optionally filtered."""
    query: dict[str, Any] = {}
    if partner_id:
        query["partner_id"] = partner_id
    if status:
        query["status"] = status
    if category:
        query["category"] = category
    cursor = db["applications"].find(query).sort("updated_at", -1).limit(limit)
    return [_summary(doc) async for doc in cursor]


class DocumentView(BaseModel):
    id: str
    document_type: str
    filename: str
    content_type: str
    size: int
    sha256: str
    channel: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    flags: list[str] = Field(default_factory=list)
    received_at: datetime
    facts: ReadingFacts | None = None  # what the reader found; None while being read


class RuleView(BaseModel):
    rule: str
    passed: bool
    message: str
    source: str | None = None


class ValidationView(BaseModel):
    id: str
    evaluated_at: datetime
    verdict: str
    catalog_version: str | None = None
    missing: list[str] = Field(default_factory=list)
    outcomes: list[RuleView] = Field(default_factory=list)


class DeadlineView(BaseModel):
    id: str
    kind: str
    status: str
    due_at: datetime
    expires_at: datetime | None = None
    source: str | None = None
    reminders: list[ReminderLine] = Field(default_factory=list)


class DeliveryView(BaseModel):
    event_id: str
    event_type: str | None = None
    recipient: str | None = None
    status: str  # sending | sent | refused | failed
    at: datetime | None = None
    reason: str | None = None


class StatusChangeView(BaseModel):
    from_status: str | None = None
    to_status: str
    actor: str
    reason: str | None = None
    at: datetime
    trigger: str | None = None
    channel: str | None = None  # creation: http, amqp, mongodb (the demo); None: not recorded


def application_history(application: dict[str, Any]) -> list[StatusChangeView]:
    """The status history, starting with the creation (who, when, over which channel).

    Applications created before the intake recorded its creation (or written straight into
    MongoDB) get that first line from ``created_at`` and the partner, channel unknown.
    """
    history = [StatusChangeView.model_validate(h) for h in application.get("history", [])]
    if history and history[0].from_status is None:
        history[0].trigger = history[0].trigger or "created"
        return history
    created = StatusChangeView(
        from_status=None,
        to_status=(history[0].from_status if history else None)
        or str(application.get("status", "submitted")),
        actor=str(application.get("partner_id", "?")),
        at=application["created_at"],
        trigger="created",
    )
    return [created, *history]


class ApplicationDetail(BaseModel):
    application: ApplicationSummary
    partner_name: str | None = None
    exporter: dict[str, Any]
    registration_valid_until: Any = None
    history: list[StatusChangeView]
    documents: list[DocumentView]
    validation: ValidationView | None
    deadlines: list[DeadlineView]
    deliveries: list[DeliveryView]
    events: list[EventLine]


class ApplicationNotFound(LookupError):
    def __init__(self, application_id: str) -> None:
        super().__init__(f"There is no application {application_id}.")
        self.application_id = application_id


async def latest_validation(*, db: Database, application_id: str) -> ValidationView | None:
    result = await db["validation_results"].find_one(
        {"application_id": application_id}, sort=[("evaluated_at", -1)]
    )
    if result is None:
        return None
    return ValidationView(
        id=result["_id"],
        evaluated_at=result["evaluated_at"],
        verdict=result["verdict"],
        catalog_version=result.get("catalog_version"),
        missing=[str(m) for m in result.get("missing", [])],
        outcomes=[RuleView.model_validate(o) for o in result.get("outcomes", [])],
    )


async def application_deadlines(*, db: Database, application: dict[str, Any]) -> list[DeadlineView]:
    """Deadlines opened for the application, or for the registration it renews."""
    subjects = [application["_id"]]
    if application.get("registration_number"):
        subjects.append(application["registration_number"])
    query = {"$or": [{"subject": {"$in": subjects}}, {"application_id": application["_id"]}]}
    deadlines = await db["deadlines"].find(query).sort("due_at", 1).to_list()
    reminders = await reminders_of(db, deadlines)
    return [
        DeadlineView(
            id=d["_id"],
            kind=d["kind"],
            status=d["status"],
            due_at=d["due_at"],
            expires_at=d.get("expires_at"),
            source=d.get("source"),
            reminders=reminder_lines(reminders, d["_id"]),
        )
        for d in deadlines
    ]


async def application_events(
    *, db: Database, application: dict[str, Any], limit: int = 200
) -> list[dict[str, Any]]:
    """Every event logged about the application (or the registration it renews)."""
    subjects = [application["_id"]]
    if application.get("registration_number"):
        subjects.append(application["registration_number"])
    cursor = db["outbox"].find({"subject": {"$in": subjects}}).sort("time", -1).limit(limit)
    return [entry["event"] async for entry in cursor]


async def application_deliveries(*, db: Database, event_ids: list[str]) -> list[DeliveryView]:
    """Emails sent (or failed) because of the application's events."""
    cursor = db["deliveries"].find({"event_id": {"$in": event_ids}}).sort("created_at", -1)
    return [
        DeliveryView(
            event_id=str(d["event_id"]),
            event_type=d.get("event_type"),
            recipient=d.get("recipient"),
            status=str(d.get("status", "?")),
            # The notifier's record: sent_at once sent, updated_at for every other state.
            at=d.get("sent_at") or d.get("updated_at") or d.get("at"),
            reason=d.get("reason") or d.get("last_error"),
        )
        async for d in cursor
    ]


async def application_detail(*, db: Database, application_id: str) -> ApplicationDetail:
    """Everything known about one application; raises ApplicationNotFound."""
    application = await db["applications"].find_one({"_id": application_id})
    if application is None:
        raise ApplicationNotFound(application_id)
    documents = (
        await db["documents"]
        .find({"application_id": application_id})
        .sort("received_at", 1)
        .to_list()
    )
    events = await application_events(db=db, application=application)
    facts = {
        f["_id"]: f async for f in db["document_facts"].find({"application_id": application_id})
    }
    partner = await db["partners"].find_one({"_id": application.get("partner_id")}, {"name": 1})
    return ApplicationDetail(
        application=_summary(application),
        partner_name=partner.get("name") if partner else None,
        exporter=dict(application.get("exporter") or {}),
        registration_valid_until=application.get("registration_valid_until"),
        history=application_history(application),
        documents=[
            DocumentView.model_validate({**d, "id": d["_id"], "facts": facts.get(d["_id"])})
            for d in documents
        ],
        validation=await latest_validation(db=db, application_id=application_id),
        deadlines=await application_deadlines(db=db, application=application),
        deliveries=await application_deliveries(db=db, event_ids=[e["id"] for e in events]),
        events=[event_line(e) for e in events],
    )


async def recent_events(
    *,
    db: Database,
    event_type: str | None = None,
    application_id: str | None = None,
    limit: int = 100,
) -> list[EventLine]:
    """The event log (every event published through an outbox), newest first."""
    query: dict[str, Any] = {}
    if event_type:
        query["type"] = event_type
    if application_id:
        query["subject"] = application_id
    cursor = db["outbox"].find(query).sort("time", -1).limit(limit)
    return [event_line(entry["event"]) async for entry in cursor]


async def event_types(*, db: Database) -> list[str]:
    return sorted(str(t) for t in await db["outbox"].distinct("type"))


async def find_document(
    *, db: Database, application_id: str, document_id: str
) -> dict[str, Any] | None:
    return await db["documents"].find_one({"_id": document_id, "application_id": application_id})


class OpsOverview(BaseModel):
    """The overview with the queues' report: what ``/api/overview`` and ``regwatch status
    --json`` answer."""

    overview: Overview
    queues: QueueReport
