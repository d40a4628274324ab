"""What a reminder point changes besides sending a notice: windows close, terms end.

A missed application window moves the application by the lifecycle's own trigger
(``shared.app.decisions.record_transition``, the one writer of an application's status).
A registration's window opening, closing unfiled and its term ending move the registration
(``shared.app.registration_lifecycle.move``). Each runs inside the reminder's transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime

from shared.app.decisions import record_transition
from shared.app.registration_lifecycle import aggregate, close_all, move
from shared.domain.catalog import cached_catalog
from shared.domain.deadlines import WINDOW_NAMES, Deadline
from shared.domain.lifecycle import (
    MISSABLE_WINDOWS,
    IllegalTransition,
    missed_trigger,
    transition,
)
from shared.infra.runtime import ServiceContext
from shared.infra.unit_of_work import UnitOfWork

log = logging.getLogger("regwatch.scheduler")
ACTOR = "scheduler"  # who moves what a reminder point moves (the notifier keeps quiet on it)
# The registration move each structural point makes.
REGISTRATION_TRIGGERS = {
    ("renewal", "opens"): "window_opened",
    ("renewal", "due"): "window_closed",
    ("expiry", "expired"): "term_ended",
}


async def missed_window(
    ctx: ServiceContext, uow: UnitOfWork, deadline: Deadline, *, now: datetime, cause: str
) -> str | None:
    """Move the application whose window closed unmet; its new status, or None."""
    if deadline.kind not in MISSABLE_WINDOWS or not deadline.application_id:
        return None
    application = await uow.db["applications"].find_one(
        {"_id": deadline.application_id}, session=uow.session
    )
    if application is None:
        return None
    trigger = missed_trigger(deadline.kind)
    try:
        transition(application.get("status", "submitted"), trigger)
    except IllegalTransition as exc:  # the application moved on meanwhile
        log.info("missed %s window of %s moves nothing: %s", deadline.kind, deadline.id, exc)
        return None
    record = await record_transition(
        uow,
        catalog=cached_catalog(ctx.settings.catalog_dir),
        application=application,
        trigger=trigger,
        actor=ACTOR,
        reason=f"the {WINDOW_NAMES[deadline.kind]} window closed on {deadline.last_day} "
        "without a response",
        now=now,
        service=ctx.service,
        causation_id=cause,
        correlation_id=cause,
    )
    return record.change.to_status


async def move_registration(
    ctx: ServiceContext,
    uow: UnitOfWork,
    deadline: Deadline,
    point: str,
    *,
    now: datetime,
    cause: str,
) -> None:
    """The registration move of a structural point, when the registration is there for it."""
    trigger = REGISTRATION_TRIGGERS.get((deadline.kind, point))
    if trigger is None or not deadline.registration_id:
        return
    doc = await uow.db["registrations"].find_one(
        {"_id": deadline.registration_id}, session=uow.session
    )
    if doc is None or not aggregate(doc).can(trigger):
        return
    reasons = {
        "window_opened": f"the renewal window is open until {deadline.last_day}",
        "window_closed": f"the renewal window closed on {deadline.last_day} without a filing",
        "term_ended": f"the term ended on {deadline.last_day}",
    }
    await move(
        uow,
        doc,
        trigger,
        actor=ACTOR,
        now=now,
        service=ctx.service,
        reason=reasons[trigger],
        event_id=f"{cause}:registration",
        causation_id=cause,
    )
    if trigger == "term_ended":
        await close_all(uow, doc["_id"], "the term ended", now)
