"""MongoDB access on PyMongo's async API; creates every index at start-up."""

from __future__ import annotations

from gridfs import AsyncGridFSBucket
from prometheus_client import Counter
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.errors import OperationFailure
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

from shared.infra.mongo_types import Database, MongoClient
from shared.infra.settings import Settings

DOCUMENT_BLOBS_BUCKET = "document_blobs"

# One place for every collection's indexes: collection name -> indexes.
INDEXES: dict[str, list[IndexModel]] = {
    "partners": [
        IndexModel([("amqp_user", ASCENDING)], unique=True, sparse=True),
        IndexModel([("name", ASCENDING)]),
        IndexModel([("name_terms", ASCENDING)]),  # ops search by a word of the name
    ],
    "api_keys": [
        IndexModel([("key_hash", ASCENDING)], unique=True),
        IndexModel([("partner_id", ASCENDING)]),
    ],
    "applications": [
        IndexModel([("partner_id", ASCENDING), ("created_at", DESCENDING)]),
        # application.create over AMQP: one application per partner message id.
        IndexModel(
            [("partner_id", ASCENDING), ("idempotency_key", ASCENDING)],
            unique=True,
            partialFilterExpression={"idempotency_key": {"$type": "string"}},
        ),
        IndexModel([("status", ASCENDING), ("category", ASCENDING)]),
        # The scheduler's daily sweep: applications with the authority since before a date.
        IndexModel([("status", ASCENDING), ("created_at", ASCENDING)]),
        # Ops search: a word of the exporter's name (prefix) and a registration number.
        IndexModel([("exporter_terms", ASCENDING)]),
        IndexModel([("registration_number", ASCENDING)], sparse=True),
        # An exporter contact's calendar feed.
        IndexModel([("exporter.contact_emails", ASCENDING)]),
    ],
    "documents": [
        # Idempotency: one document per partner message id, one per application + content.
        IndexModel(
            [("partner_id", ASCENDING), ("idempotency_key", ASCENDING)],
            unique=True,
            partialFilterExpression={"idempotency_key": {"$type": "string"}},
        ),
        IndexModel([("application_id", ASCENDING), ("sha256", ASCENDING)], unique=True),
        IndexModel([("received_at", DESCENDING)]),
    ],
    # The reader's facts, one record per document (_id = document id), read per application.
    "document_facts": [IndexModel([("application_id", ASCENDING)])],
    "validation_results": [
        IndexModel([("application_id", ASCENDING), ("fingerprint", ASCENDING)], unique=True),
        IndexModel([("application_id", ASCENDING), ("evaluated_at", DESCENDING)]),
    ],
    "outbox": [
        # Pending entries are claimed through this index; sent ones are the event log.
        IndexModel([("status", ASCENDING), ("available_at", ASCENDING)]),
        IndexModel([("time", DESCENDING)]),
        IndexModel([("type", ASCENDING), ("time", DESCENDING)]),
        IndexModel([("subject", ASCENDING), ("time", DESCENDING)]),
    ],
    "deadlines": [
        IndexModel([("subject", ASCENDING), ("kind", ASCENDING), ("status", ASCENDING)]),
        IndexModel([("status", ASCENDING), ("due_at", ASCENDING)]),
        # The dashboard's calendar: every deadline of a month, whatever its status.
        IndexModel([("due_at", ASCENDING)]),
        # Calendar feeds: the deadlines of given applications and registrations.
        IndexModel([("application_id", ASCENDING), ("status", ASCENDING)]),
        IndexModel([("registration_id", ASCENDING), ("status", ASCENDING)]),
    ],
    "reminders": [
        # A tick reads only due pending reminders, through this index.
        IndexModel([("status", ASCENDING), ("fire_at", ASCENDING)]),
        IndexModel([("deadline_id", ASCENDING)]),
    ],
    "deliveries": [
        # The notifier sends each event to each recipient once.
        IndexModel([("event_id", ASCENDING), ("recipient", ASCENDING)], unique=True),
        IndexModel([("updated_at", DESCENDING)]),
    ],
    "inbox": [
        # Consumer idempotency: one effect per (consumer, event id). The event id first: the
        # validator's load joins the inbox on it (``services/validator/loading.py``), which
        # the local SecantusDB serves through an index only when the join field leads it.
        IndexModel([("event_id", ASCENDING), ("consumer", ASCENDING)], unique=True),
    ],
    "registrations": [
        # One registration per number: imports and certificates never make a second one.
        IndexModel([("number", ASCENDING)], unique=True),
        IndexModel([("valid_until", ASCENDING)]),
        IndexModel([("application_id", ASCENDING)], sparse=True),
        IndexModel([("exporter_terms", ASCENDING)]),  # ops search by a word of the name
        # Calendar feeds: a partner's registrations, a contact's.
        IndexModel([("terms.application_id", ASCENDING)]),
        IndexModel([("contact_emails", ASCENDING)]),
    ],
    "calendar_links": [
        # A contact's calendar link (_id: the email address) is found by its token.
        IndexModel([("token", ASCENDING)], unique=True),
    ],
    "decisions": [
        # A decision is applied once, by its id (_id); listed per application.
        IndexModel([("application_id", ASCENDING), ("decided_at", DESCENDING)]),
    ],
    f"{DOCUMENT_BLOBS_BUCKET}.files": [
        # The intake's orphan sweep reads GridFS files by upload time, window by window.
        IndexModel([("metadata.uploaded_at", ASCENDING)]),
        # GridFS's own indexes, made here once: the intake writes its files without the
        # driver's per-upload index check (services/intake/blobs.py).
        IndexModel([("filename", ASCENDING), ("uploadDate", ASCENDING)]),
    ],
    f"{DOCUMENT_BLOBS_BUCKET}.chunks": [
        IndexModel([("files_id", ASCENDING), ("n", ASCENDING)], unique=True),
    ],
    "dead_letter_actions": [
        # The dashboard lists ops' replays and discards, newest first.
        IndexModel([("at", DESCENDING)]),
    ],
    "webhook_endpoints": [
        IndexModel([("partner_id", ASCENDING), ("status", ASCENDING)]),
    ],
    "webhook_deliveries": [
        # Workers claim due deliveries; disabling or deleting an endpoint touches its own.
        IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)]),
        IndexModel([("endpoint_id", ASCENDING), ("status", ASCENDING)]),
        IndexModel([("updated_at", DESCENDING)]),
    ],
}


MONGODB_COMMANDS = Counter(
    "regwatch_mongodb_commands",
    "MongoDB commands (round trips) sent by this process, by command name",
    ["command"],
)


class CommandCounter(CommandListener):
    """Counts every command a client sends (``MONGODB_COMMAND_COUNTING=1``)."""

    def started(self, event: CommandStartedEvent) -> None:
        MONGODB_COMMANDS.labels(event.command_name).inc()

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass


def connect(settings: Settings) -> MongoClient:
    """A client for ``MONGODB_URL`` (timezone-aware datetimes, bounded server selection)."""
    listeners = [CommandCounter()] if settings.mongodb_command_counting else []
    return AsyncMongoClient(
        settings.mongodb_url,
        tz_aware=True,
        serverSelectionTimeoutMS=settings.mongodb_timeout_ms,
        appname="regwatch",
        event_listeners=listeners,
        # A message is acked once its write is acknowledged: the write must outlive a crash
        # then. "majority" is journaled on a replica set (writeConcernMajorityJournalDefault);
        # said here rather than left to the deployment's default, which is w:1 with an arbiter.
        w="majority",
    )


def database(client: MongoClient, settings: Settings) -> Database:
    return client[settings.mongodb_db]


def blobs(db: Database) -> AsyncGridFSBucket:
    """The GridFS bucket that holds document bytes."""
    return AsyncGridFSBucket(db, bucket_name=DOCUMENT_BLOBS_BUCKET)


INDEX_NOT_FOUND = 27
# Indexes of earlier releases that an index above replaces: dropped once it exists.
REPLACED_INDEXES: dict[str, list[str]] = {"inbox": ["consumer_1_event_id_1"]}


async def ensure_indexes(db: Database) -> None:
    """Create every index regwatch queries through, then drop those they replace
    (idempotent)."""
    for collection, indexes in INDEXES.items():
        if indexes:
            await db[collection].create_indexes(indexes)
    for collection, names in REPLACED_INDEXES.items():
        existing = {index["name"] async for index in await db[collection].list_indexes()}
        for name in sorted(existing & set(names)):
            try:
                await db[collection].drop_index(name)
            except OperationFailure as exc:
                if exc.code != INDEX_NOT_FOUND:  # another service starting dropped it first
                    raise
