"""What a batch of claimed reminders is settled on, read in a few queries for the whole batch.

One ``$in`` query per collection instead of a few ``find_one`` per reminder: the local
MongoDB wire server pays most of its cost per command, not per document returned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from shared.app.reminder_subjects import registration_key
from shared.domain.deadlines import STRUCTURAL_POINTS, Deadline
from shared.domain.registration import REMINDED
from shared.infra.mongo_types import Database
from shared.infra.partner_routing import (
    REGISTRATION_DEADLINE_KINDS,
    UNKNOWN,
    CarriedPartner,
    application_partner_of,
    registration_partner_of,
)

CLOSED = ("closed", "met")


@dataclass
class BatchFacts:
    """The deadlines, applications, registrations and due points a batch names."""

    due_by: datetime
    deadlines: dict[str, dict[str, Any]] = field(default_factory=dict)
    applications: dict[str, dict[str, Any]] = field(default_factory=dict)
    registrations_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    registrations_by_number: dict[str, dict[str, Any]] = field(default_factory=dict)
    waiting: dict[str, str] = field(default_factory=dict)  # number -> waiting renewal's id
    due_points: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)  # application -> items
    # What was asked for, found or not: an id or number read and not found is known absent.
    application_ids_read: set[str] = field(default_factory=set)
    numbers_read: set[str] = field(default_factory=set)

    def open_deadline(self, reminder: dict[str, Any]) -> Deadline | None:
        found = self.deadlines.get(reminder["deadline_id"])
        if found is None or found["status"] in CLOSED:
            return None
        return Deadline.model_validate(found)

    def registration(self, deadline: Deadline) -> dict[str, Any]:
        """The registration the deadline names, by id first, then by number."""
        key = registration_key(deadline)
        if key is None:
            return {}
        return self.registrations_by_id.get(key) or self.registrations_by_number.get(key) or {}

    def partner_of(self, deadline: Deadline, registration_number: str | None) -> CarriedPartner:
        """The partner of the deadline's event, as the relay's lookup finds it from the
        event (``registration_number``: the event's); UNKNOWN where the batch did not read
        what decides it."""
        if deadline.kind in REGISTRATION_DEADLINE_KINDS:
            number = registration_number or deadline.subject
            registration = self.registrations_by_number.get(number) or next(
                (r for r in self.registrations_by_id.values() if r.get("number") == number),
                None,
            )
            if registration is not None:
                return registration_partner_of(registration)
            return None if number in self.numbers_read else UNKNOWN
        if not deadline.application_id:
            return None
        application = self.applications.get(deadline.application_id)
        if application is not None:
            return application_partner_of(application)
        return None if deadline.application_id in self.application_ids_read else UNKNOWN

    def later_due_point(self, reminder: dict[str, Any]) -> str | None:
        """The most recent notice of the same deadline also due, after this one."""
        later = [
            (fire_at, point)
            for fire_at, point in self.due_points.get(reminder["deadline_id"], [])
            if fire_at > reminder["fire_at"]
        ]
        return max(later)[1] if later else None

    def keys(self, reminder: dict[str, Any]) -> set[str]:
        """What a reminder's moves may change: its deadline, application and registration."""
        keys = {f"d:{reminder['deadline_id']}"}
        found = self.deadlines.get(reminder["deadline_id"])
        if found is None:
            return keys
        deadline = Deadline.model_validate(found)
        application = self.applications.get(deadline.application_id or "", {})
        registration = self.registration(deadline)
        names = (
            deadline.registration_id,
            deadline.registration_number,
            registration_key(deadline),
            registration.get("_id"),
            registration.get("number"),
            application.get("registration_number"),
        )
        keys |= {f"r:{name}" for name in names if name}
        if deadline.application_id:
            keys.add(f"a:{deadline.application_id}")
        return keys


async def _by_id(
    db: Database, collection: str, ids: Iterable[Any], session: AsyncClientSession
) -> dict[Any, dict[str, Any]]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    found = await db[collection].find({"_id": {"$in": wanted}}, session=session).to_list()
    return {doc["_id"]: doc for doc in found}


async def load_facts(
    db: Database, reminders: list[dict[str, Any]], due_by: datetime, session: AsyncClientSession
) -> BatchFacts:
    """Read, inside the batch's transaction, everything its reminders are decided on."""
    facts = BatchFacts(due_by)
    facts.deadlines = await _by_id(db, "deadlines", (r["deadline_id"] for r in reminders), session)
    deadlines = [
        d for r in reminders if (d := facts.open_deadline(r)) is not None
    ]  # closed ones are cancelled: nothing more to read for them
    facts.application_ids_read = {d.application_id for d in deadlines if d.application_id}
    facts.applications = await _by_id(db, "applications", facts.application_ids_read, session)
    keys = {k for d in deadlines for k in (registration_key(d), d.registration_id) if k}
    facts.registrations_by_id = await _by_id(db, "registrations", keys, session)
    numbers = sorted(keys - set(facts.registrations_by_id))
    if numbers:
        found = db["registrations"].find({"number": {"$in": numbers}}, session=session)
        facts.registrations_by_number = {doc["number"]: doc async for doc in found}
        facts.numbers_read = set(numbers)
    await _load_waiting(db, facts, session)
    await _load_due_points(db, facts, reminders, session)
    await _load_missing(db, facts, session)
    return facts


async def _load_waiting(db: Database, facts: BatchFacts, session: AsyncClientSession) -> None:
    """Renewal applications waiting for the window, of the registrations still reminded."""
    numbers = sorted(
        {
            r["number"]
            for r in facts.registrations_by_id.values()
            if r.get("status", "active") in REMINDED and r.get("number")
        }
    )
    if not numbers:
        return
    found = db["applications"].find(
        {"registration_number": {"$in": numbers}, "status": "waiting_for_window"},
        {"registration_number": 1},
        session=session,
    )
    async for application in found:
        facts.waiting.setdefault(application["registration_number"], application["_id"])


async def _load_due_points(
    db: Database, facts: BatchFacts, reminders: list[dict[str, Any]], session: AsyncClientSession
) -> None:
    """The notices due by the tick of each deadline with a notice in the batch."""
    ids = sorted({r["deadline_id"] for r in reminders if r["point"] not in STRUCTURAL_POINTS})
    if not ids:
        return
    found = db["reminders"].find(
        {
            "deadline_id": {"$in": ids},
            "fire_at": {"$lte": facts.due_by},
            "status": {"$ne": "cancelled"},
            "point": {"$ne": "opens"},  # opening the window is no notice
        },
        {"deadline_id": 1, "fire_at": 1, "point": 1},
        session=session,
    )
    async for point in found:
        facts.due_points.setdefault(point["deadline_id"], []).append(
            (point["fire_at"], point["point"])
        )


async def _load_missing(db: Database, facts: BatchFacts, session: AsyncClientSession) -> None:
    """The still-missing items of each application's newest validation result."""
    if not facts.applications:
        return
    found = db["validation_results"].find(
        {"application_id": {"$in": sorted(facts.applications)}},
        {"application_id": 1, "evaluated_at": 1, "missing": 1},
        session=session,
    )
    newest: dict[str, dict[str, Any]] = {}
    async for result in found:
        held = newest.get(result["application_id"])
        if held is None or result["evaluated_at"] > held["evaluated_at"]:
            newest[result["application_id"]] = result
    facts.missing = {a: list(r.get("missing") or []) for a, r in newest.items()}
