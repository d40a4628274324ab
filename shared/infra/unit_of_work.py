"""One unit of work for every writer: one transaction, its events, published after commit.

A writer hands a function of ``UnitOfWork`` to ``run_unit_of_work``: the function writes
with ``uow.session`` and stages the events its changes raise with ``uow.stage(event)``.
The staged events are written to the outbox in the same transaction, so a state change
and its events commit together or not at all. After the commit they are published
through the relay (leased to it when written: no claim, one round trip less); a broker
problem never reaches the writer, the relay's sweep publishes what was left once the
lease ends. Without a relay (the CLI) the entries are left pending for any relay's sweep.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo.asynchronous.client_session import AsyncClientSession

from shared.domain.clock import Clock
from shared.domain.events import CloudEvent
from shared.infra.mongo_types import Database, MongoClient
from shared.infra.outbox import OutboxRelay, in_transaction, outbox_entry

T = TypeVar("T")


class UnitOfWork:
    """The session one transaction writes with, and the events it stages."""

    def __init__(self, db: Database, session: AsyncClientSession) -> None:
        self.db = db
        self.session = session
        self._events: list[CloudEvent] = []

    def stage(self, event: CloudEvent) -> None:
        """Have ``event`` written to the outbox with this transaction's changes."""
        self._events.append(event)

    @property
    def staged(self) -> list[CloudEvent]:
        """The events staged so far, in the order they were staged."""
        return list(self._events)


Work = Callable[[UnitOfWork], Awaitable[T]]


async def run_unit_of_work(
    client: MongoClient,
    db: Database,
    work: Work[T],
    *,
    clock: Clock,
    relay: OutboxRelay | None,
) -> T:
    """Run ``work`` in one transaction with its staged events, then publish them.

    The transaction is retried on transient errors (``in_transaction``); each attempt
    starts with nothing staged. Raises what ``work`` raises; never raises for the broker.
    """
    entries: list[dict[str, Any]] = []

    async def attempt(session: AsyncClientSession) -> T:
        uow = UnitOfWork(db, session)
        result = await work(uow)
        now = clock.now()
        entries[:] = [
            relay.leased_entry(event, now) if relay is not None else outbox_entry(event, now)
            for event in uow.staged
        ]
        for entry in entries:
            # One insert each: an event id staged before (a deterministic id) raises
            # DuplicateKeyError, as a repeated write of the state itself would.
            await db["outbox"].insert_one(entry, session=session)
        return result

    result = await in_transaction(client, attempt)
    if relay is not None:
        for entry in entries:
            await relay.publish_leased(entry)
    return result
