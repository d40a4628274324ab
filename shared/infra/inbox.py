"""Consumer idempotency: remember which events a consumer has already applied."""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession

from shared.domain.clock import Clock
from shared.infra.mongo_types import Database


async def first_delivery(
    db: Database,
    consumer: str,
    event_id: str,
    clock: Clock,
    session: AsyncClientSession | None = None,
) -> bool:
    """Record that ``consumer`` handles ``event_id``; False if it already did.

    Call it inside the transaction that applies the event, so the mark and the effect
    commit together. Two copies racing on the same event: the unique index makes the
    later transaction fail, the message is redelivered and then reads False here.
    """
    inbox = db["inbox"]
    if await inbox.find_one({"consumer": consumer, "event_id": event_id}, session=session):
        return False
    await inbox.insert_one(
        {"consumer": consumer, "event_id": event_id, "at": clock.now()}, session=session
    )
    return True
