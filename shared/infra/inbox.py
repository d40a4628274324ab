"""Consumer idempotency: remember which events a consumer has already applied."""

from __future__ import annotations

from typing import Any

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
        await inbox.insert_one(inbox_mark(consumer, event_id, clock), session=session)
    except DuplicateKeyError as exc:
        # The other copy's mark is committed (the retry reads it) or still in an open
        # transaction, such as one left by a copy SIGKILLed mid-way until the server aborts
        # it. Failing the delivery instead spent the message's last try: dead-lettered.
        raise InboxConflict(f"{consumer} is applying {event_id} in another transaction") from exc
    return True


def inbox_mark(consumer: str, event_id: str, clock: Clock) -> dict[str, Any]:
    """The inbox record saying ``consumer`` applied ``event_id`` (unique per pair)."""
    return {"consumer": consumer, "event_id": event_id, "at": clock.now()}


async def mark_unchanged(db: Database, consumer: str, event_id: str, clock: Clock) -> None:
    """Record a delivery that changed nothing (one insert, outside any transaction).

    For a consumer that found, without writing, that the event changes nothing: there is no
    effect to commit with the mark, so a mark already there (another copy's, committed or
    not yet) is as good as this one.
    """
    try:
        await db["inbox"].insert_one(inbox_mark(consumer, event_id, clock))
    except DuplicateKeyError:
        pass


class InboxConflict(TransientConflict):
    """Another copy marked the same event in a transaction that has not settled yet."""
