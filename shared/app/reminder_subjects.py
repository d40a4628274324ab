"""Who and what a reminder is about: exporter, product, contacts, still-missing items."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.domain.deadlines import Deadline
from shared.infra.mongo_types import Database


class ReminderSubject(BaseModel):
    """What a reminder names: the scheduler's notices and `regwatch deadlines` show it."""

    exporter_name: str | None = None
    category: str | None = None
    product: str | None = None
    registration_number: str | None = None
    contact_emails: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    application_status: str | None = None


def _exporter(document: dict[str, Any]) -> dict[str, Any]:
    exporter = document.get("exporter")
    return exporter if isinstance(exporter, dict) else {}


async def _registration(
    db: Database, deadline: Deadline, session: AsyncClientSession | None
) -> dict[str, Any]:
    key = registration_key(deadline)
    if key is None:
        return {}
    # Two lookups, each through a unique index (an $or would read the whole collection).
    for query in ({"_id": key}, {"number": key}):
        found = await db["registrations"].find_one(query, session=session)
        if found is not None:
            return dict(found)
    return {}


async def latest_missing(
    db: Database, application_id: str, session: AsyncClientSession | None = None
) -> list[str]:
    """The still-missing items of the newest validation result of an application."""
    result = await db["validation_results"].find_one(
        {"application_id": application_id},
        {"missing": 1},
        sort=[("evaluated_at", -1)],
        session=session,
    )
    return list(result.get("missing") or []) if result else []


async def reminder_subject(
    db: Database, deadline: Deadline, session: AsyncClientSession | None = None
) -> ReminderSubject:
    """What the deadline names, completed from its application and registration documents."""
    application: dict[str, Any] = {}
    if deadline.application_id:
        application = (
            await db["applications"].find_one({"_id": deadline.application_id}, session=session)
            or {}
        )
    missing = (
        await latest_missing(db, deadline.application_id, session)
        if deadline.application_id
        else []
    )
    return subject_of(deadline, application, await _registration(db, deadline, session), missing)


def registration_key(deadline: Deadline) -> str | None:
    """How the deadline names its registration: its id, or the number of a renewal's."""
    return deadline.registration_id or (deadline.subject if deadline.kind == "renewal" else None)


def subject_of(
    deadline: Deadline,
    application: dict[str, Any],
    registration: dict[str, Any],
    missing: list[str],
) -> ReminderSubject:
    """The subject from what was read (pure): the deadline's own fields first."""
    sources = [application, registration]
    exporters = [_exporter(d) for d in sources]
    contacts = deadline.contact_emails or next(
        (
            list(found)
            for found in (
                *(e.get("contact_emails") for e in exporters),
                *(d.get("contact_emails") for d in sources),
            )
            if found
        ),
        [],
    )
    return ReminderSubject(
        exporter_name=deadline.exporter_name
        or next((e["name"] for e in exporters if e.get("name")), None)
        or registration.get("exporter_name"),
        category=application.get("category") or registration.get("category"),
        product=deadline.product or application.get("product") or registration.get("product"),
        registration_number=deadline.registration_number
        or application.get("registration_number")
        or registration.get("number")
        or registration.get("registration_number"),
        contact_emails=contacts,
        missing=missing,
        application_status=application.get("status"),
    )
