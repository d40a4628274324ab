"""A missed window moves the application to the status the deadline (the catalog) names."""

from __future__ import annotations

import logging
from datetime import datetime
from types import ModuleType

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.domain.deadlines import Deadline
from shared.domain.events import ApplicationStatusChanged, CloudEvent, new_event
from shared.domain.lifecycle import StatusChange

lifecycle: ModuleType | None
try:  # the lifecycle's transition table guards the move when it is there
    from shared.domain import lifecycle
except ImportError:  # pragma: no cover - the deadline's own status is then applied as is
    lifecycle = None

log = logging.getLogger("regwatch.scheduler")
ACTOR = "scheduler"
WINDOW_NAMES = {
    "additional_materials": "additional materials",
    "rectification": "rectification",
    "renewal": "renewal",
    "processing": "processing",
}


async def apply_missed_transition(
    db: AsyncDatabase,
    deadline: Deadline,
    *,
    now: datetime,
    event_id: str,
    causation_id: str,
    session: AsyncClientSession,
) -> CloudEvent | None:
    """Set ``on_missed`` on the application with a history entry; its event to stage.

    Returns None when the deadline names no transition or the application is already
    there (a replayed reminder changes nothing).
    """
    if not deadline.on_missed or not deadline.application_id:
        return None
    application = await db["applications"].find_one(
        {"_id": deadline.application_id}, {"status": 1}, session=session
    )
    if application is None or application.get("status") == deadline.on_missed:
        return None
    trigger = allowed_trigger(deadline, application.get("status"))
    if trigger is False:
        return None
    window = WINDOW_NAMES[deadline.kind]
    change = StatusChange(
        from_status=application.get("status"),
        to_status=deadline.on_missed,
        actor=ACTOR,
        reason=f"the {window} window closed on {deadline.due_at:%Y-%m-%d} without a response",
        at=now,
    )
    await db["applications"].update_one(
        {"_id": deadline.application_id, "status": application.get("status")},
        {
            "$set": {"status": change.to_status, "updated_at": now},
            "$push": {"history": {**change.model_dump(), "trigger": trigger}},
        },
        session=session,
    )
    return new_event(
        "application.status_changed",
        ApplicationStatusChanged(application_id=deadline.application_id, **change.model_dump()),
        service=ACTOR,
        time=now,
        subject=deadline.application_id,
        causation_id=causation_id,
        correlation_id=causation_id,
        event_id=event_id,
    )


def allowed_trigger(deadline: Deadline, status: str | None) -> str | None | bool:
    """The lifecycle trigger of this missed window; False when the lifecycle refuses it."""
    if lifecycle is None:
        return None
    try:
        trigger: str = lifecycle.missed_trigger(deadline.kind)
        lifecycle.transition(status or "", trigger)
    except ValueError as exc:  # IllegalTransition / UnknownTrigger: leave the status alone
        log.warning("missed %s window of %s moves nothing: %s", deadline.kind, deadline.id, exc)
        return False
    return trigger
