"""The registration's lifecycle in MongoDB: terms, renewal windows, moves and their events.

Every move goes through ``shared.domain.registration`` (the transition table), is written
conditionally on the status it was read in, appends a history line and stages
``registration.status_changed``, all inside the caller's unit of work.
Deadlines of a term: ``renewal`` (the window, with its opening, reminders and the missed
point) when the regime of the filing date allows a renewal, and ``expiry`` (the term's end).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shared.domain.calendar import authority_date, day_of, stored_day
from shared.domain.catalog import Catalog
from shared.domain.deadlines import DEFAULT_OFFSETS_DAYS, Deadline
from shared.domain.events import CloudEvent, RegistrationStatusChanged, new_event
from shared.domain.lifecycle import Transition
from shared.domain.registration import (
    REGISTRATION_TRANSITIONS,
    IllegalRegistrationMove,
    Registration,
    RegistrationChange,
    Term,
)
from shared.domain.renewal import RenewalPlan, plan_renewal
from shared.infra.deadline_store import close_deadline, open_deadline, reopen_deadline
from shared.infra.partner_routing import UNKNOWN, CarriedPartner, registration_partner_of
from shared.infra.unit_of_work import UnitOfWork

# A renewal application in one of these statuses is with the authority: it was filed.
FILED_STATUSES = frozenset(
    {"under_examination", "accepted", "rectification_requested", "onsite_assessment_scheduled"}
)
# A filed renewal that ends in one of these gives the registration its window back.
RETURNED_STATUSES = frozenset({"not_accepted", "failed"})


class RegistrationRefused(ValueError):
    """The registration cannot be recorded; the message says why."""


class UnknownRegistration(LookupError):
    """No registration has this number."""


def aggregate(doc: dict[str, Any]) -> Registration:
    """The typed registration of a stored document (older documents have no terms)."""
    exporter = doc.get("exporter") or {}
    terms = doc.get("terms") or [
        {
            "issued_on": day_of(doc["issued_on"]),
            "valid_until": day_of(doc["valid_until"]),
            "application_id": doc.get("application_id"),
            "started_at": doc.get("created_at") or doc["valid_until"],
        }
    ]
    return Registration(
        _id=doc["_id"],
        number=doc["number"],
        category=doc["category"],
        product=doc.get("product"),
        exporter_name=exporter.get("name"),
        country=exporter.get("country"),
        contact_emails=list(doc.get("contact_emails") or []),
        status=doc.get("status", "active"),
        terms=[
            Term(
                issued_on=day_of(t["issued_on"]),
                valid_until=day_of(t["valid_until"]),
                application_id=t.get("application_id"),
                started_at=t["started_at"],
            )
            for t in terms
        ],
        renewal_application_id=doc.get("renewal_application_id"),
    )


def term_record(term: Term, partner_id: CarriedPartner = UNKNOWN) -> dict[str, Any]:
    """The stored term; ``partner_id``: the partner of the term's application (None: none),
    which routes the registration's events from then on (``registration_partner_of``)."""
    record: dict[str, Any] = {
        "issued_on": stored_day(term.issued_on),
        "valid_until": stored_day(term.valid_until),
        "application_id": term.application_id,
        "started_at": term.started_at,
    }
    if term.application_id is None:
        record["partner_id"] = None
    elif partner_id is not UNKNOWN:
        record["partner_id"] = partner_id
    return record


def window_fields(plan: RenewalPlan) -> dict[str, Any]:
    """What the registration document keeps of its current renewal window."""
    return {
        "window_opens_on": stored_day(plan.opens_on) if plan.opens_on else None,
        "window_closes_on": stored_day(plan.closes_on) if plan.closes_on else None,
        "renewable": plan.renewable,
        "not_renewable_reason": plan.not_renewable_reason,
        "not_renewable_from": stored_day(plan.not_renewable_from)
        if plan.not_renewable_from
        else None,
        "regime": plan.regime.id if plan.regime else None,
    }


def term_deadlines(
    doc: dict[str, Any], plan: RenewalPlan, now: datetime, reminder_time: str = "09:00"
) -> list[Deadline]:
    """The renewal window (when renewable) and the expiry of the current term (pure)."""
    number, until = doc["number"], plan.valid_until
    exporter = doc.get("exporter") or {}
    common: dict[str, Any] = {
        "subject": number,
        "registration_id": doc["_id"],
        "application_id": doc.get("application_id"),
        "opened_at": now,
        "expires_at": plan.expires_at,
        "registration_number": number,
        "exporter_name": exporter.get("name"),
        "product": doc.get("product"),
        "contact_emails": list(doc.get("contact_emails") or []),
        "reminder_time": reminder_time,
        "renewable": plan.renewable,
        "not_renewable_reason": plan.not_renewable_reason,
        "not_renewable_from": plan.not_renewable_from,
    }
    deadlines = []
    if plan.renewable and plan.regime is not None and plan.closes_at is not None:
        windows = plan.regime.windows
        deadlines.append(
            Deadline(
                _id=f"dl_renewal_{number}_{until:%Y%m%d}",
                kind="renewal",
                due_at=plan.closes_at,
                opens_at=plan.opens_at,
                opening_notice_days=plan.opening_notice_days if plan.opens_on else None,
                reminder_offsets_days=windows.reminder_offsets_days.get("renewal", []),
                source=f"{plan.regime.id}: {windows.renewal.source}",
                renewal_documents=plan.documents,
                **common,
            )
        )
    deadlines.append(
        Deadline(
            _id=f"dl_expiry_{number}_{until:%Y%m%d}",
            kind="expiry",
            due_at=plan.expires_at,
            # Reminders before the end only when no renewal can prevent it.
            reminder_offsets_days=[] if plan.renewable else DEFAULT_OFFSETS_DAYS["expiry"],
            source=plan.not_renewable_reason or "the registration's term as issued",
            **common,
        )
    )
    return deadlines


async def start_term(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    doc: dict[str, Any],
    now: datetime,
    service: str,
    actor: str = "regwatch",
    reminder_time: str = "09:00",
) -> dict[str, Any]:
    """Open the deadlines of ``doc``'s current term and move it to where today stands.

    ``doc`` is already stored. A window that is open today opens the registration's
    renewal at once; a term already over expires it (no reminder is then sent).
    """
    plan = plan_renewal(catalog, doc["category"], day_of(doc["valid_until"]), authority_date(now))
    fields = window_fields(plan)
    await uow.db["registrations"].update_one(
        {"_id": doc["_id"]}, {"$set": fields}, session=uow.session
    )
    doc = {**doc, **fields}
    today = authority_date(now)
    if plan.valid_until < today:
        return await move(
            uow,
            doc,
            "term_ended",
            actor=actor,
            now=now,
            service=service,
            reason=f"the term ended on {plan.valid_until}",
        )
    for deadline in term_deadlines(doc, plan, now, reminder_time):
        await open_deadline(uow.db, deadline, uow.session)
    if plan.state_on(today) == "open" and aggregate(doc).can("window_opened"):
        doc = await move(
            uow,
            doc,
            "window_opened",
            actor=actor,
            now=now,
            service=service,
            reason=f"the renewal window is open until {plan.closes_on}",
        )
    return doc


async def move(
    uow: UnitOfWork,
    doc: dict[str, Any],
    trigger: str,
    *,
    actor: str,
    now: datetime,
    service: str,
    reason: str | None = None,
    application_id: str | None = None,
    extra: dict[str, Any] | None = None,
    event_id: str | None = None,
    causation_id: str | None = None,
) -> dict[str, Any]:
    """Move the registration by ``trigger`` and stage its event; returns the new document.

    Raises ``IllegalRegistrationMove``; also when the stored status changed meanwhile.
    """
    registration = aggregate(doc)
    change = registration.move(
        trigger, actor=actor, at=now, reason=reason, application_id=application_id
    )
    result = await uow.db["registrations"].update_one(
        {"_id": doc["_id"], "status": doc.get("status", "active")},
        {
            "$set": {"status": change.to_status, "updated_at": now, **(extra or {})},
            "$push": {"history": change.model_dump()},
        },
        session=uow.session,
    )
    if result.matched_count != 1:
        raise IllegalRegistrationMove(doc["number"], str(doc.get("status")), trigger)
    doc = {**doc, **(extra or {}), "status": change.to_status}
    uow.stage(
        registration_event(
            doc, change, now=now, service=service, event_id=event_id, causation_id=causation_id
        ),
        # ``doc`` holds every term: the partner is the one the event had after the commit.
        partner_id=registration_partner_of(doc),
    )
    return doc


def registration_event(
    doc: dict[str, Any],
    change: RegistrationChange,
    *,
    now: datetime,
    service: str,
    event_id: str | None = None,
    causation_id: str | None = None,
) -> CloudEvent:
    """The ``registration.status_changed`` event of ``change`` (``doc`` as it is now)."""
    exporter = doc.get("exporter") or {}
    opens, closes = doc.get("window_opens_on"), doc.get("window_closes_on")
    return new_event(
        "registration.status_changed",
        RegistrationStatusChanged(
            registration_id=doc["_id"],
            registration_number=doc["number"],
            from_status=change.from_status,
            to_status=change.to_status,
            trigger=change.trigger,
            actor=change.actor,
            reason=change.reason,
            at=change.at,
            application_id=change.application_id,
            category=doc["category"],
            product=doc.get("product"),
            exporter_name=exporter.get("name"),
            contact_emails=list(doc.get("contact_emails") or []),
            valid_until=day_of(doc["valid_until"]),
            window_opens_on=day_of(opens) if opens else None,
            window_closes_on=day_of(closes) if closes else None,
            renewable=bool(doc.get("renewable", True)),
            not_renewable_reason=doc.get("not_renewable_reason"),
        ),
        service=service,
        time=now,
        subject=doc["number"],
        event_id=event_id,
        causation_id=causation_id,
        correlation_id=causation_id,
    )


async def term_deadline_ids(
    uow: UnitOfWork, registration_id: str, statuses: list[str]
) -> list[str]:
    """The ids of the registration's deadlines in one of ``statuses``."""
    cursor = uow.db["deadlines"].find(
        {"registration_id": registration_id, "status": {"$in": statuses}},
        {"_id": 1},
        session=uow.session,
    )
    return [d["_id"] async for d in cursor]


async def close_all(uow: UnitOfWork, registration_id: str, reason: str, now: datetime) -> None:
    """Close every deadline of the registration, whatever its state, and its reminders."""
    for deadline_id in await term_deadline_ids(uow, registration_id, ["open", "missed", "met"]):
        await close_deadline(uow.db, deadline_id, reason, now, uow.session)


async def follow_renewal(
    uow: UnitOfWork,
    *,
    application: dict[str, Any],
    transition: Transition,
    now: datetime,
    service: str,
) -> None:
    """Move the registration a renewal application is for, as the application moves.

    Reaching the authority inside the window files the renewal: the window's deadline is
    met and its reminders stop. A filed renewal that ends not accepted or failed gives the
    window back while it is open, otherwise the registration heads to its expiry.
    """
    number = application.get("registration_number")
    if application.get("kind") != "renewal" or not number:
        return
    doc = await uow.db["registrations"].find_one({"number": number}, session=uow.session)
    if doc is None:
        return  # a registration regwatch does not watch
    target = transition.to_status
    common = {"now": now, "service": service, "application_id": application["_id"]}
    if target in FILED_STATUSES and doc.get("status") != "renewal_filed":
        if not aggregate(doc).can("renewal_filed"):
            return
        await move(
            uow,
            doc,
            "renewal_filed",
            actor=service,
            reason=f"renewal application {application['_id']} is with the authority",
            extra={"renewal_application_id": application["_id"]},
            **common,
        )
        for deadline_id in await term_deadline_ids(uow, doc["_id"], ["open"]):
            if deadline_id.startswith("dl_renewal_"):
                await close_deadline(
                    uow.db, deadline_id, "met: renewal filed", now, uow.session, status="met"
                )
    elif target in RETURNED_STATUSES and doc.get("renewal_application_id") == application["_id"]:
        closes = doc.get("window_closes_on")
        in_window = closes is not None and authority_date(now) <= day_of(closes)
        trigger = "renewal_rejected" if in_window else "renewal_rejected_late"
        reason = (
            _last_reason(application) or f"the renewal application was {target.replace('_', ' ')}"
        )
        await move(
            uow,
            doc,
            trigger,
            actor=service,
            reason=reason,
            extra={"renewal_application_id": None},
            **common,
        )
        for deadline_id in await term_deadline_ids(uow, doc["_id"], ["met"]):
            if not deadline_id.startswith("dl_renewal_"):
                continue
            if in_window:
                await reopen_deadline(uow.db, deadline_id, now, uow.session)
            else:
                await close_deadline(uow.db, deadline_id, f"renewal {target}", now, uow.session)


def _last_reason(application: dict[str, Any]) -> str | None:
    history = application.get("history") or []
    return history[-1].get("reason") if history else None


async def grant_renewal(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    doc: dict[str, Any],
    application_id: str,
    partner_id: CarriedPartner,
    issued_on: date,
    valid_until: date,
    now: datetime,
    service: str,
    actor: str,
    reminder_time: str = "09:00",
) -> dict[str, Any]:
    """A granted renewal: the old term ends completely and the new one starts its cycle.

    ``partner_id``: the partner of the renewal application, recorded on the new term.
    """
    db, session = uow.db, uow.session
    await close_all(uow, doc["_id"], "renewed: a new term started", now)
    term = Term(
        issued_on=issued_on, valid_until=valid_until, application_id=application_id, started_at=now
    )
    new_term = term_record(term, partner_id)
    previous = doc["valid_until"]
    await db["registrations"].update_one(
        {"_id": doc["_id"]},
        {
            "$set": {"issued_on": stored_day(issued_on), "valid_until": stored_day(valid_until)},
            "$push": {
                "terms": new_term,
                "renewals": {
                    "application_id": application_id,
                    "issued_on": stored_day(issued_on),
                    "previous_valid_until": previous,
                    "valid_until": stored_day(valid_until),
                    "at": now,
                },
            },
        },
        session=session,
    )
    terms = list(doc.get("terms") or [])
    if not terms:  # an older document: keep its first term beside the new one
        terms = [term_record(aggregate(doc).terms[0])]
        await db["registrations"].update_one(
            {"_id": doc["_id"]},
            {"$push": {"terms": {"$each": terms, "$position": 0}}},
            session=session,
        )
    doc = {
        **doc,
        "issued_on": stored_day(issued_on),
        "valid_until": stored_day(valid_until),
        "terms": [*terms, new_term],  # as stored: the events below route by the new term
    }
    doc = await move(
        uow,
        doc,
        "renewal_granted",
        actor=actor,
        now=now,
        service=service,
        application_id=application_id,
        extra={"renewal_application_id": None},
        reason=f"renewed until {valid_until}",
    )
    return await start_term(
        uow,
        catalog=catalog,
        doc=doc,
        now=now,
        service=service,
        actor=actor,
        reminder_time=reminder_time,
    )


def allowed_in(trigger: str) -> list[str]:
    return sorted(s for (s, t) in REGISTRATION_TRANSITIONS if t == trigger)
