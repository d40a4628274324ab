"""What happens to one claimed reminder: emitted, skipped (with why) or cancelled.

Everything a reminder changes (its own state, the deadline, a missed window's transition)
and the events it raises commit in one unit of work conditional on the claim; the events
are published after the commit, with confirms, by the outbox relay.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from services.scheduler.claims import LeaseLost, settle
from services.scheduler.missed import missed_window, move_registration
from services.scheduler.notices import reminder_event, reminder_event_id
from shared.app.reminder_subjects import reminder_subject
from shared.domain.deadlines import STRUCTURAL_POINTS, WITH_THE_AUTHORITY, Deadline
from shared.domain.registration import REMINDED
from shared.infra.runtime import ServiceContext
from shared.infra.unit_of_work import UnitOfWork

log = logging.getLogger("regwatch.scheduler")
Outcome = Literal["emitted", "skipped", "cancelled", "lost"]


async def later_due_point(
    ctx: ServiceContext, reminder: dict[str, Any], due_by: datetime
) -> dict[str, Any] | None:
    """A later notice of the same deadline that is also due: after a gap it wins."""
    return await ctx.db["reminders"].find_one(
        {
            "deadline_id": reminder["deadline_id"],
            "fire_at": {"$gt": reminder["fire_at"], "$lte": due_by},
            "status": {"$ne": "cancelled"},
            "point": {"$ne": "opens"},  # opening the window is no notice
        },
        {"point": 1},
        sort=[("fire_at", -1)],
    )


async def why_not_sent(
    ctx: ServiceContext, deadline: Deadline, reminder: dict[str, Any], due_by: datetime
) -> str | None:
    """The reason to skip this point, or None to emit it."""
    if reminder["point"] not in STRUCTURAL_POINTS:
        later = await later_due_point(ctx, reminder, due_by)
        if later is not None:
            return (
                f"superseded by {later['point']}, also due by {due_by.isoformat()}: "
                "after a gap only the most recent point of a deadline is sent"
            )
    if deadline.kind in ("renewal", "expiry"):
        return await why_not_told(ctx, deadline, reminder)
    if deadline.kind == "processing" and deadline.application_id:
        application = await ctx.db["applications"].find_one(
            {"_id": deadline.application_id}, {"status": 1}
        )
        status = (application or {}).get("status")
        if status not in WITH_THE_AUTHORITY:
            return f"the authority has acted: the application is {status or 'gone'}"
    return None


async def why_not_told(
    ctx: ServiceContext, deadline: Deadline, reminder: dict[str, Any]
) -> str | None:
    """A registration's notice is sent only while it is true for that registration."""
    registration = await ctx.db["registrations"].find_one(
        {"_id": deadline.registration_id}, {"status": 1, "number": 1}
    )
    if registration is None:
        return None  # a deadline opened without a registration record (older data)
    status = registration.get("status", "active")
    point = reminder["point"]
    if point in ("opens", "expired"):
        return None  # the registration's own moves: the move itself checks them
    if status not in REMINDED:
        return f"the registration is {status}"
    if point == "opens-notice" and deadline.opens_at and ctx.clock.now() >= deadline.opens_at:
        return "the renewal window is already open"
    waiting = await ctx.db["applications"].find_one(
        {"registration_number": registration["number"], "status": "waiting_for_window"},
        {"_id": 1},
    )
    if waiting is not None:
        return f"renewal application {waiting['_id']} is waiting for the window to open"
    return None


async def _finish(
    ctx: ServiceContext,
    deadline: Deadline,
    reminder: dict[str, Any],
    *,
    now: datetime,
    skip_reason: str | None,
) -> None:
    """One unit of work: settle the reminder, apply what it changes, stage its events."""
    event_id = reminder_event_id(reminder["_id"])
    point = reminder["point"]

    async def work(uow: UnitOfWork) -> None:
        if skip_reason is not None:
            await settle(
                uow.db, reminder, {"status": "skipped", "skipped_reason": skip_reason}, uow.session
            )
            return
        # Opening the window is a move, not a notice: that point has no event of its own.
        subject = (
            None if point == "opens" else await reminder_subject(uow.db, deadline, uow.session)
        )
        # Settled first: the moves below may close this deadline and cancel its reminders.
        await settle(
            uow.db,
            reminder,
            {"status": "emitted", "emitted_at": now, "event_id": event_id if subject else None},
            uow.session,
        )
        await move_registration(ctx, uow, deadline, point, now=now, cause=event_id)
        new_status = None
        if point == "due":
            new_status = await missed_window(ctx, uow, deadline, now=now, cause=event_id)
            await uow.db["deadlines"].update_one(
                {"_id": deadline.id, "status": {"$in": ["open", "closed"]}},
                {"$set": {"status": "missed"}},
                session=uow.session,
            )
        if subject is not None:
            event = reminder_event(
                deadline,
                reminder,
                subject,
                now=now,
                service=ctx.service,
                application_status=new_status,
            )
            uow.stage(event)

    await ctx.unit_of_work(work)


async def settle_claimed(
    ctx: ServiceContext, reminder: dict[str, Any], due_by: datetime
) -> Outcome:
    """Emit, skip or cancel one reminder this replica has claimed.

    Its events are published after the commit; a broker problem leaves them to the sweep.
    """
    found = await ctx.db["deadlines"].find_one({"_id": reminder["deadline_id"]})
    now = ctx.clock.now()
    try:
        if found is None or found["status"] in ("closed", "met"):
            reason = "deadline closed" if found else "deadline not found"

            async def cancel(uow: UnitOfWork) -> None:
                await settle(
                    uow.db,
                    reminder,
                    {"status": "cancelled", "cancelled_reason": reason},
                    uow.session,
                )

            await ctx.unit_of_work(cancel)
            return "cancelled"
        deadline = Deadline.model_validate(found)
        skip_reason = await why_not_sent(ctx, deadline, reminder, due_by)
        await _finish(ctx, deadline, reminder, now=now, skip_reason=skip_reason)
    except LeaseLost as exc:
        log.warning("%s", exc)
        return "lost"
    return "skipped" if skip_reason else "emitted"
