"""What happens to one claimed reminder: emitted, skipped (with why) or cancelled.

Everything a reminder changes (its own state, the outbox entry, the deadline, a missed
window's transition) commits in one transaction conditional on the claim; the event is
published after the commit, with confirms, by the outbox relay.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from pymongo.asynchronous.client_session import AsyncClientSession

from services.scheduler.claims import LeaseLost, settle
from services.scheduler.missed import missed_window, move_registration
from services.scheduler.notices import reminder_event, reminder_event_id
from services.scheduler.subjects import reminder_subject
from shared.app.registration_lifecycle import Staged
from shared.domain.deadlines import STRUCTURAL_POINTS, WITH_THE_AUTHORITY, Deadline
from shared.domain.registration import REMINDED
from shared.infra.outbox import in_transaction
from shared.infra.runtime import ServiceContext

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
) -> tuple[list[dict[str, Any]], list[str]]:
    """One transaction: settle the reminder, apply what it changes, stage its events.

    Returns the leased entry of the reminder's own event (published without a claim) and
    the ids of the status events its moves staged (published through the relay).
    """
    event_id = reminder_event_id(reminder["_id"])
    point = reminder["point"]
    moved = Staged()

    async def work(session: AsyncClientSession) -> list[dict[str, Any]]:
        moved.event_ids.clear()
        if skip_reason is not None:
            await settle(
                ctx.db, reminder, {"status": "skipped", "skipped_reason": skip_reason}, session
            )
            return []
        # Settled first: the moves below may close this deadline and cancel its reminders.
        event = None
        if point != "opens":  # opening the window is a move, not a notice
            subject = await reminder_subject(ctx.db, deadline, session)
            event = reminder_event(deadline, reminder, subject, now=now)
        await settle(
            ctx.db,
            reminder,
            {"status": "emitted", "emitted_at": now, "event_id": event.id if event else None},
            session,
        )
        await move_registration(
            ctx, session, deadline, point, now=now, cause=event_id, staged=moved
        )
        if point == "due":
            new_status = await missed_window(
                ctx, session, deadline, now=now, cause=event_id, staged=moved
            )
            await ctx.db["deadlines"].update_one(
                {"_id": deadline.id, "status": {"$in": ["open", "closed"]}},
                {"$set": {"status": "missed"}},
                session=session,
            )
            if event is not None and new_status is not None:
                event.data["application_status"] = new_status
        if event is None:
            return []
        entry = ctx.relay.leased_entry(event, now)
        await ctx.db["outbox"].insert_one(entry, session=session)
        return [entry]

    entries = await in_transaction(ctx.client, work)
    return entries, list(moved.event_ids)


async def settle_claimed(
    ctx: ServiceContext, reminder: dict[str, Any], due_by: datetime
) -> Outcome:
    """Emit, skip or cancel one reminder this replica has claimed."""
    found = await ctx.db["deadlines"].find_one({"_id": reminder["deadline_id"]})
    now = ctx.clock.now()
    try:
        if found is None or found["status"] in ("closed", "met"):
            reason = "deadline closed" if found else "deadline not found"

            async def cancel(session: AsyncClientSession) -> None:
                await settle(
                    ctx.db, reminder, {"status": "cancelled", "cancelled_reason": reason}, session
                )

            await in_transaction(ctx.client, cancel)
            return "cancelled"
        deadline = Deadline.model_validate(found)
        skip_reason = await why_not_sent(ctx, deadline, reminder, due_by)
        entries, event_ids = await _finish(
            ctx, deadline, reminder, now=now, skip_reason=skip_reason
        )
    except LeaseLost as exc:
        log.warning("%s", exc)
        return "lost"
    for entry in entries:
        # Never raises for a broker problem: any relay's sweep publishes it after the lease.
        await ctx.relay.publish_leased(entry)
    for status_event in event_ids:
        await ctx.relay.publish(status_event)
    return "skipped" if skip_reason else "emitted"
