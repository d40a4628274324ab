"""Consumer idempotency: remember which events a consumer has already applied."""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from shared.domain.clock import Clock
from shared.infra.mongo_types import Database
from shared.infra.retry import TransientConflict


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
    later transaction fail with ``InboxConflict``, which the consumer retries with backoff
    (``shared.infra.retry``) until the other settles; then this reads False.
    """
    inbox = db["inbox"]
    if await inbox.find_one({"consumer": consumer, "event_id": event_id}, session=session):
        return False
    try:
        await inbox.insert_one(
            {"consumer": consumer, "event_id": event_id, "at": clock.now()}, session=session
        )
    except DuplicateKeyError as exc:
        # The other copy's mark is committed (the retry reads it) or still in an open
        # transaction, such as one left by a copy SIGKILLed mid-way until the server aborts
        # it. Failing the delivery instead spent the message's last try: dead-lettered.
        raise InboxConflict(f"{consumer} is applying {event_id} in another transaction") from exc
    return True


class InboxConflict(TransientConflict):
    """Another copy marked the same event in a transaction that has not settled yet."""
