"""One unit of work for every writer: one transaction, its events, published after commit.

A writer hands a function of ``UnitOfWork`` to ``run_unit_of_work``: the function writes
with ``uow.session`` and stages the events its changes raise with ``uow.stage(event)``,
naming the partner an event concerns when it knows it (``partner_id``: the relay then
routes it without a lookup; see ``shared.infra.partner_routing``).
The staged events are written to the outbox in the same transaction, so a state change
and its events commit together or not at all. After the commit they are published
through the relay (leased to it when written: no claim, one round trip less); a broker
problem never reaches the writer, the relay's sweep publishes what was left once the
lease ends. The transaction also marks sent the entries the relay published since the
process's last write (``OutboxRelay.take_sent_marks``), in the command of its inserts;
if it aborts they wait for the next write, or the relay's own update soon after.
Without a relay (the CLI) the entries are left pending for any relay's sweep.

A new record that nothing in the same work reads back can be staged too, with
``uow.insert(collection, document)``: it is written with the outbox entries in one
command (MongoDB's ``bulkWrite`` across collections, MongoDB 8.0+), so a record and its
event cost one round trip and the commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from pymongo import InsertOne, UpdateMany
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import (
    BulkWriteError,
    ClientBulkWriteException,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
)

from shared.domain.clock import Clock
from shared.domain.events import CloudEvent
from shared.infra.mongo_types import Database, MongoClient
from shared.infra.outbox import OutboxRelay, in_transaction, outbox_entry
from shared.infra.partner_routing import UNKNOWN, CarriedPartner

T = TypeVar("T")
DUPLICATE_KEY = 11000


class UnitOfWork:
    """The session one transaction writes with, and the events and inserts it stages."""

    def __init__(self, db: Database, session: AsyncClientSession) -> None:
        self.db = db
        self.session = session
        self._events: list[tuple[CloudEvent, CarriedPartner]] = []
        self._inserts: list[tuple[str, dict[str, Any]]] = []

    def stage(self, event: CloudEvent, *, partner_id: CarriedPartner = UNKNOWN) -> None:
        """Have ``event`` written to the outbox with this transaction's changes.

        ``partner_id``: the partner ``event`` concerns as the writer has just read it, as of
        this transaction's commit (None: no partner); without it the relay looks it up.
        """
        self._events.append((event, partner_id))

    def insert(self, collection: str, document: dict[str, Any]) -> None:
        """Have ``document`` inserted into ``collection`` when the work returns.

        It is written in this transaction, before the outbox entries and in the same
        command; a unique index it breaks raises ``DuplicateKeyError`` from the unit of
        work. Reads in the same work do not see it yet: stage only what is not read back.
        """
        self._inserts.append((collection, document))

    @property
    def staged(self) -> list[CloudEvent]:
        """The events staged so far, in the order they were staged."""
        return [event for event, _ in self._events]

    @property
    def staged_with_partners(self) -> list[tuple[CloudEvent, CarriedPartner]]:
        """The events staged so far with the partner each was staged with (or UNKNOWN)."""
        return list(self._events)

    @property
    def staged_inserts(self) -> list[tuple[str, dict[str, Any]]]:
        """The inserts staged so far (collection, document), in the order they were staged."""
        return list(self._inserts)


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
    carried: dict[str, datetime] = {}  # published entries this transaction marks sent
    attempts = 0

    async def attempt(session: AsyncClientSession) -> T:
        nonlocal attempts
        attempts += 1
        # Before the transaction's first command: the marks published before this point
        # are of entries committed before its snapshot, so the transaction sees them.
        checkpoint = relay.sent_marks_checkpoint() if relay is not None else 0
        if carried and relay is not None:
            # A retried transaction may take long: its marks go back to wait, well within
            # their lease, for the relay's own update or another write.
            relay.give_back_sent_marks(carried)
            carried.clear()
        uow = UnitOfWork(db, session)
        result = await work(uow)
        now = clock.now()
        entries[:] = [
            relay.leased_entry(event, now, partner_id)
            if relay is not None
            else outbox_entry(event, now, partner_id)
            for event, partner_id in uow.staged_with_partners
        ]
        writes = [*uow.staged_inserts, *(("outbox", entry) for entry in entries)]
        updates: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        if writes and relay is not None and attempts == 1:
            # The relay's waiting sent marks ride in the same command.
            carried.update(relay.take_sent_marks(checkpoint))
            if carried:
                updates.append(("outbox", *relay.sent_marks(list(carried))))
        # An event id staged before (a deterministic id) raises DuplicateKeyError, as a
        # repeated write of the state itself would.
        await insert_all(client, db, writes, session=session, updates=updates)
        return result

    try:
        result = await in_transaction(client, attempt)
    except BaseException:
        if relay is not None:
            relay.give_back_sent_marks(carried)  # not written: they wait for the next write
        raise
    if relay is not None:
        await relay.publish_leased_all(entries)
    return result


async def insert_all(
    client: MongoClient,
    db: Database,
    writes: list[tuple[str, dict[str, Any]]],
    *,
    session: AsyncClientSession | None = None,
    updates: list[tuple[str, dict[str, Any], dict[str, Any]]] | None = None,
) -> None:
    """Insert ``writes`` (collection, document) in order, in one command.

    One collection: ``insert`` (one document or ordered many); several: the ``bulkWrite``
    command across collections (MongoDB 8.0+), ordered, so a write that fails stops the
    ones after it. ``updates`` (collection, filter, update), applied to every document
    matched after the inserts, make it a ``bulkWrite`` whatever the collections. A unique
    index broken anywhere raises ``DuplicateKeyError``, whatever the command; a
    transaction's transient error keeps its label (the driver retries it).
    """
    if not writes:
        return
    collections = {name for name, _ in writes}
    try:
        if updates:
            await client.bulk_write(
                [
                    *(
                        InsertOne(document, namespace=f"{db.name}.{name}")
                        for name, document in writes
                    ),
                    *(
                        UpdateMany(where, change, namespace=f"{db.name}.{name}")
                        for name, where, change in updates
                    ),
                ],
                session=session,
                ordered=True,
                verbose_results=False,
            )
        elif len(writes) == 1:
            name, document = writes[0]
            await db[name].insert_one(document, session=session)
        elif len(collections) == 1:
            await db[writes[0][0]].insert_many([d for _, d in writes], session=session)
        else:
            await client.bulk_write(
                [InsertOne(document, namespace=f"{db.name}.{name}") for name, document in writes],
                session=session,
                ordered=True,
                verbose_results=False,
            )
    except (BulkWriteError, ClientBulkWriteException) as exc:
        raise plain_write_error(exc) from None


def plain_write_error(exc: BulkWriteError | ClientBulkWriteException) -> PyMongoError:
    """The error a single insert would have raised for what made a bulk insert fail."""
    write_errors = exc.details.get("writeErrors") or []
    for error in write_errors:
        if error.get("code") == DUPLICATE_KEY:
            return DuplicateKeyError(error.get("errmsg", "duplicate key"), DUPLICATE_KEY, error)
    top = exc.error if isinstance(exc, ClientBulkWriteException) else None
    if isinstance(top, OperationFailure) and top.code == DUPLICATE_KEY:
        # Some servers report a broken unique index for the bulkWrite command as a whole.
        return DuplicateKeyError(str(top), DUPLICATE_KEY, top.details)
    if isinstance(top, PyMongoError):
        return top  # a network or command error, with its labels (TransientTransactionError)
    if isinstance(top, dict):
        return OperationFailure(top.get("errmsg", "bulkWrite failed"), top.get("code"), top)
    return exc


def duplicate_collection(exc: DuplicateKeyError, db: Database) -> str | None:
    """The collection whose unique index ``exc`` broke, as the server's message names it
    (``E11000 duplicate key error collection: <db>.<collection> index: ...``)."""
    marker = f"collection: {db.name}."
    message = str(exc)
    start = message.find(marker)
    if start < 0:
        return None
    rest = message[start + len(marker) :]
    return rest.split(" ", 1)[0] or None
