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
from services.scheduler.missed import apply_missed_transition
from services.scheduler.notices import reminder_event, reminder_event_id
from services.scheduler.subjects import reminder_subject
from shared.domain.deadlines import WITH_THE_AUTHORITY, Deadline
from shared.domain.events import CloudEvent
from shared.infra.outbox import in_transaction
from shared.infra.runtime import ServiceContext

log = logging.getLogger("regwatch.scheduler")
Outcome = Literal["emitted", "skipped", "cancelled", "lost"]


async def later_due_point(
    ctx: ServiceContext, reminder: dict[str, Any], due_by: datetime
) -> dict[str, Any] | None:
    """A later point of the same deadline that is also due: after a gap it wins."""
    return await ctx.db["reminders"].find_one(
        {
            "deadline_id": reminder["deadline_id"],
            "fire_at": {"$gt": reminder["fire_at"], "$lte": due_by},
            "status": {"$ne": "cancelled"},
        },
        {"point": 1},
        sort=[("fire_at", -1)],
    )


async def why_not_sent(
    ctx: ServiceContext, deadline: Deadline, reminder: dict[str, Any], due_by: datetime
) -> str | None:
    """The reason to skip this point, or None to emit it."""
    later = await later_due_point(ctx, reminder, due_by)
    if later is not None:
        return (
            f"superseded by {later['point']}, also due by {due_by.isoformat()}: "
            "after a gap only the most recent point of a deadline is sent"
        )
    if deadline.kind == "processing" and deadline.application_id:
        application = await ctx.db["applications"].find_one(
            {"_id": deadline.application_id}, {"status": 1}
        )
        status = (application or {}).get("status")
        if status not in WITH_THE_AUTHORITY:
            return f"the authority has acted: the application is {status or 'gone'}"
    return None


async def _finish(
    ctx: ServiceContext,
    deadline: Deadline,
    reminder: dict[str, Any],
    *,
    now: datetime,
    skip_reason: str | None,
) -> list[dict[str, Any]]:
    """One transaction: settle the reminder, stage its events; returns their entries."""
    event_id = reminder_event_id(reminder["_id"])

    async def stage(event: CloudEvent, session: AsyncClientSession) -> dict[str, Any]:
        # Leased to this process's relay: published right after the commit, no claim.
        entry = ctx.relay.leased_entry(event, now)
        await ctx.db["outbox"].insert_one(entry, session=session)
        return entry

    async def work(session: AsyncClientSession) -> list[dict[str, Any]]:
        staged: list[dict[str, Any]] = []
        new_status = None
        if reminder["point"] == "due":
            changed = await apply_missed_transition(
                ctx.db,
                deadline,
                now=now,
                event_id=f"{event_id}:status",
                causation_id=event_id,
                session=session,
            )
            if changed is not None:
                new_status = changed.data["to_status"]
                staged.append(await stage(changed, session))
            await ctx.db["deadlines"].update_one(
                {"_id": deadline.id, "status": "open"},
                {"$set": {"status": "missed"}},
                session=session,
            )
        if skip_reason is not None:
            await settle(
                ctx.db, reminder, {"status": "skipped", "skipped_reason": skip_reason}, session
            )
            return staged
        subject = await reminder_subject(ctx.db, deadline, session)
        event = reminder_event(deadline, reminder, subject, now=now, application_status=new_status)
        await settle(
            ctx.db,
            reminder,
            {"status": "emitted", "emitted_at": now, "event_id": event.id},
            session,
        )
        return [await stage(event, session), *staged]

    return await in_transaction(ctx.client, work)


async def settle_claimed(
    ctx: ServiceContext, reminder: dict[str, Any], due_by: datetime
) -> Outcome:
    """Emit, skip or cancel one reminder this replica has claimed."""
    found = await ctx.db["deadlines"].find_one({"_id": reminder["deadline_id"]})
    now = ctx.clock.now()
    try:
        if found is None or found["status"] == "closed":
            reason = "deadline closed" if found else "deadline not found"

            async def cancel(session: AsyncClientSession) -> None:
                await settle(
                    ctx.db, reminder, {"status": "cancelled", "cancelled_reason": reason}, session
                )

            await in_transaction(ctx.client, cancel)
            return "cancelled"
        deadline = Deadline.model_validate(found)
        skip_reason = await why_not_sent(ctx, deadline, reminder, due_by)
        entries = await _finish(ctx, deadline, reminder, now=now, skip_reason=skip_reason)
    except LeaseLost as exc:
        log.warning("%s", exc)
        return "lost"
    for entry in entries:
        # Never raises for a broker problem: any relay's sweep publishes it after the lease.
        await ctx.relay.publish_leased(entry)
    return "skipped" if skip_reason else "emitted"
