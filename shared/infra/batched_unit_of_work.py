"""A unit of work whose inserts travel with its outbox entries in one command.

Like ``run_unit_of_work`` (one transaction, its staged events written to the outbox with it
and published after the commit), except that the inserts the work asks for with
``uow.insert(collection, document)`` are not sent at once: at the end of the work they and
the outbox entries of the staged events go to the server as one client-level ``bulkWrite``
(MongoDB 8.0), ordered, inside the transaction. A writer whose effect is a few new
documents (the validator: its inbox mark, the result, the event) pays one write round trip
and the commit instead of one round trip per document. Other writes (``uow.session``) run
as usual, before the batch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import ClientBulkWriteException, OperationFailure, PyMongoError
from pymongo.operations import InsertOne

from shared.domain.clock import Clock
from shared.infra.mongo_types import Database, MongoClient
from shared.infra.outbox import OutboxRelay, outbox_entry
from shared.infra.unit_of_work import UnitOfWork

T = TypeVar("T")

DUPLICATE_KEY = 11000


class BatchedUnitOfWork(UnitOfWork):
    """A unit of work that also collects inserts, written with the outbox entries."""

    def __init__(self, db: Database, session: AsyncClientSession) -> None:
        super().__init__(db, session)
        self._inserts: list[tuple[str, dict[str, Any]]] = []

    def insert(self, collection: str, document: dict[str, Any]) -> None:
        """Insert ``document`` into ``collection`` with this transaction's batch."""
        self._inserts.append((collection, document))

    @property
    def inserts(self) -> list[tuple[str, dict[str, Any]]]:
        return list(self._inserts)


BatchedWork = Callable[[BatchedUnitOfWork], Awaitable[T]]


class DuplicateInsert(Exception):
    """An insert of the batch met a unique index: ``collection`` names which insert."""

    def __init__(self, collection: str, cause: ClientBulkWriteException) -> None:
        super().__init__(f"duplicate key in {collection}: {cause}")
        self.collection = collection


async def run_batched_unit_of_work(
    client: MongoClient,
    db: Database,
    work: BatchedWork[T],
    *,
    clock: Clock,
    relay: OutboxRelay | None,
) -> T:
    """Run ``work`` (given a ``BatchedUnitOfWork``) in one transaction, then publish.

    The transaction is retried on transient errors by the driver, as ``in_transaction``
    does; each attempt starts with nothing staged.

    Raises ``DuplicateInsert`` when an insert of the batch (an outbox entry included) meets
    a unique index: nothing of the transaction is applied then.
    """
    entries: list[dict[str, Any]] = []

    async def attempt(session: AsyncClientSession) -> T:
        uow = BatchedUnitOfWork(db, session)
        result = await work(uow)
        now = clock.now()
        entries[:] = [
            relay.leased_entry(event, now) if relay is not None else outbox_entry(event, now)
            for event in uow.staged
        ]
        batch = uow.inserts + [("outbox", entry) for entry in entries]
        if batch:
            models = [
                InsertOne(document, namespace=f"{db.name}.{collection}")
                for collection, document in batch
            ]
            try:
                await client.bulk_write(models, session=session, ordered=True)
            except ClientBulkWriteException as exc:
                duplicate = _duplicate(exc, db.name, batch)
                if duplicate is not None:
                    raise DuplicateInsert(duplicate, exc) from exc
                if isinstance(exc.error, PyMongoError):
                    # The command's own error keeps its labels: a write conflict with
                    # another transaction is then retried like any transient one.
                    raise exc.error from exc
                raise
        return result

    # Not causally consistent: a retried transaction would otherwise open with the batch
    # carrying an afterClusterTime read concern, which bulkWrite does not take.
    async with client.start_session(causal_consistency=False) as session:
        result = await session.with_transaction(attempt)
    if relay is not None:
        for entry in entries:
            await relay.publish_leased(entry)
    return result


def _duplicate(
    exc: ClientBulkWriteException, db_name: str, batch: list[tuple[str, dict[str, Any]]]
) -> str | None:
    """The collection of the insert that met a unique index, if that is what failed."""
    top = exc.error
    if isinstance(top, OperationFailure) and top.code == DUPLICATE_KEY:
        # Reported for the command as a whole: the message names the collection.
        message = str(top)
        for name, _ in batch:
            if f"collection: {db_name}.{name} " in message:
                return name
    for error in exc.write_errors or []:
        # The driver hands the server's write errors on as documents.
        details: Mapping[str, Any] = error if isinstance(error, Mapping) else error.details or {}
        index = details.get("idx")
        if details.get("code") == DUPLICATE_KEY and isinstance(index, int) and index < len(batch):
            collection: str = batch[index][0]
            return collection
    return None
