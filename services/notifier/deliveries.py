"""The ``deliveries`` record: one per (event id, recipient), so nothing is sent twice.

States: ``sending`` (held by one notifier under a lease), ``sent``, ``refused`` (the server
refused the address for good) and ``failed`` (retries exhausted; a replay tries again).
Every final state commits with its ``notification.*`` event in one unit of work.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from shared.domain.events import NotificationFailed, NotificationSent, Payload, new_event
from shared.infra.runtime import ServiceContext
from shared.infra.unit_of_work import UnitOfWork

NO_RECIPIENT = "-"


class DeliveryInFlight(Exception):
    """Another notifier is sending this right now; the message comes back later."""


def delivery_id(event_id: str, recipient: str) -> str:
    return f"{event_id}|{recipient}"


async def claim(
    ctx: ServiceContext, *, event_id: str, event_type: str, recipient: str, lease: timedelta
) -> str | None:
    """Hold the delivery of ``event_id`` to ``recipient``; its token, or None if done before."""
    now = ctx.clock.now()
    token = uuid.uuid4().hex
    held = {"status": "sending", "token": token, "lease_until": now + lease, "updated_at": now}
    deliveries = ctx.db["deliveries"]
    try:
        await deliveries.insert_one(
            {
                "_id": delivery_id(event_id, recipient),
                "event_id": event_id,
                "event_type": event_type,
                "recipient": recipient,
                "attempts": 0,
                "created_at": now,
                **held,
            }
        )
        return token
    except DuplicateKeyError:
        pass
    taken = await deliveries.find_one_and_update(
        {
            "_id": delivery_id(event_id, recipient),
            "$or": [{"status": "failed"}, {"status": "sending", "lease_until": {"$lte": now}}],
        },
        {"$set": held},
        return_document=ReturnDocument.AFTER,
    )
    if taken is not None:
        return token
    current = await deliveries.find_one({"_id": delivery_id(event_id, recipient)}, {"status": 1})
    if current is not None and current["status"] == "sending":
        raise DeliveryInFlight(f"{event_id} to {recipient} is being sent by another notifier")
    return None


async def count_attempt(ctx: ServiceContext, event_id: str, recipient: str, error: str) -> None:
    await ctx.db["deliveries"].update_one(
        {"_id": delivery_id(event_id, recipient)},
        {"$inc": {"attempts": 1}, "$set": {"last_error": error, "updated_at": ctx.clock.now()}},
    )


async def record(
    ctx: ServiceContext,
    *,
    event_id: str,
    event_type: str,
    recipient: str,
    token: str,
    status: str,
    subject: str = "",
    reason: str | None = None,
) -> None:
    """Settle one delivery with its notification event (published after the commit)."""
    now = ctx.clock.now()
    payload: Payload = (
        NotificationSent(
            event_id=event_id, event_type=event_type, recipient=recipient, subject=subject
        )
        if status == "sent"
        else NotificationFailed(
            event_id=event_id,
            event_type=event_type,
            recipient=None if recipient == NO_RECIPIENT else recipient,
            reason=reason or status,
        )
    )
    event = new_event(
        "notification.sent" if status == "sent" else "notification.failed",
        payload,
        service=ctx.service,
        time=now,
        subject=event_id,
        causation_id=event_id,
        correlation_id=event_id,
    )

    async def work(uow: UnitOfWork) -> None:
        fields: dict[str, Any] = {"status": status, "updated_at": now, "lease_until": None}
        fields.update({"sent_at": now} if status == "sent" else {"reason": reason})
        held = await uow.db["deliveries"].update_one(
            {"_id": delivery_id(event_id, recipient), "token": token},
            {"$set": fields, "$inc": {"attempts": 1}},
            session=uow.session,
        )
        if held.matched_count != 1:  # our lease ran out and another notifier took over
            raise DeliveryInFlight(f"{event_id} to {recipient} was taken over by another notifier")
        uow.stage(event)

    await ctx.unit_of_work(work)
