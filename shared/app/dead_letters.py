"""The dead-letter desk: list, replay and discard what sits in ``regwatch.dead_letters``.

Listing takes messages with ``basic.get`` without acknowledging them and closes the
channel, which puts them all back. A replay publishes the message to the queue it died in
(x-death names it) through the default exchange with its original properties, waits for
the broker's confirm and only then acknowledges the dead letter: at least once, and the
consumers de-duplicate. Every replay and discard is recorded in ``dead_letter_actions``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from datetime import datetime
from typing import Any, Literal

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from aio_pika.exceptions import ChannelClosed
from pydantic import BaseModel

from shared.domain.clock import Clock
from shared.domain.models import new_id
from shared.infra.mongo_types import Database
from shared.infra.topology import DEAD_LETTER_QUEUE_NAME

PREVIEW_CHARS = 600
# Headers the broker sets on every delivery; a replayed message starts afresh without them.
BROKER_HEADERS = ("x-delivery-count",)


class DeadLetterNotFound(LookupError):
    def __init__(self, dead_letter_id: str) -> None:
        super().__init__(
            f"No dead letter {dead_letter_id} in {DEAD_LETTER_QUEUE_NAME}: it was replayed "
            "or discarded already, or the id is wrong (list them again)."
        )


class ReplayRefused(RuntimeError):
    """RabbitMQ refused the republish (typically a user_id the dashboard may not send)."""


class DeadLetter(BaseModel):
    id: str
    message_id: str | None
    queue: str | None  # the queue the message died in, where a replay sends it
    reason: str | None
    error_type: str | None = None  # "ValueError" of a consumer's "ValueError: ..." reason
    error_message: str | None = None  # the rest of that reason, or what a broker reason means
    routing_key: str | None = None  # the key it was first published with
    publisher: str | None = None  # the RabbitMQ user that published it
    exchange: str | None
    routing_keys: list[str]
    deaths: int
    died_at: datetime | None
    content_type: str | None
    headers: dict[str, Any]
    size: int
    preview: str


class DeadLetterAction(BaseModel):
    id: str
    action: Literal["replay", "discard"]
    dead_letter_id: str
    message_id: str | None
    queue: str | None
    reason: str | None
    actor: str
    at: datetime
    size: int
    sha256: str
    preview: str


def _text(value: Any) -> Any:
    """Header values as JSON-friendly data (AMQP tables hold bytes and nested tables)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return {str(k): _text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_text(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float | bool) or value is None:
        return value
    return str(value)


def preview(body: bytes, content_type: str | None) -> str:
    """A readable start of the body: text as text, binary files as a note and base64."""
    try:
        text = body[:PREVIEW_CHARS].decode("utf-8")
        if text.isprintable() or all(c.isprintable() or c in "\r\n\t" for c in text):
            return text
    except UnicodeDecodeError:
        pass
    head = base64.b64encode(body[:120]).decode()
    return f"[{content_type or 'binary'}, {len(body)} bytes] base64: {head}..."


# What RabbitMQ's own dead-letter reasons mean, for a person choosing replay or discard.
BROKER_REASONS = {
    "rejected": "a consumer refused it at once (it can never be handled as it is)",
    "delivery_limit": "consumers failed on it at every delivery allowed (x-delivery-limit)",
    "expired": "it waited longer than its time to live",
    "maxlen": "its queue was full",
}
# "ValueError: bad date" (shared.infra.consuming writes type and message so).
ERROR_REASON = re.compile(r"^(?P<type>[A-Za-z_][\w.]*): (?P<message>.*)$", re.DOTALL)


def split_reason(reason: str | None) -> tuple[str | None, str | None]:
    """(exception type, message) of a consumer's reason, or (None, meaning) of a broker's."""
    if not reason:
        return None, None
    if reason in BROKER_REASONS:
        return None, BROKER_REASONS[reason]
    matched = ERROR_REASON.match(reason)
    if matched:
        return matched["type"], matched["message"]
    return None, reason


def describe(message: AbstractIncomingMessage) -> DeadLetter:
    headers = _text(dict(message.headers or {}))
    deaths = headers.get("x-death") or [{}]
    first = deaths[0] if isinstance(deaths, list) and deaths else {}
    queue = headers.get("x-first-death-queue") or first.get("queue")
    digest = hashlib.sha256(
        f"{queue}\0{message.message_id or ''}\0".encode() + message.body
    ).hexdigest()
    reason = headers.get("x-first-death-reason") or first.get("reason")
    error_type, error_message = split_reason(reason)
    routing_keys = [str(k) for k in first.get("routing-keys", [])]
    return DeadLetter(
        id=digest[:20],
        message_id=message.message_id,
        queue=queue,
        reason=reason,
        error_type=error_type,
        error_message=error_message,
        # A consumer's own dead-lettering keeps the original key; the broker's lists it.
        routing_key=(routing_keys[0] if routing_keys else None) or message.routing_key or None,
        publisher=headers.get("x-regwatch-user-id") or message.user_id,
        exchange=headers.get("x-first-death-exchange") or first.get("exchange"),
        routing_keys=routing_keys,
        deaths=sum(int(d.get("count", 1)) for d in deaths if isinstance(d, dict)),
        died_at=first.get("time"),
        content_type=message.content_type,
        headers=headers,
        size=len(message.body),
        preview=preview(message.body, message.content_type),
    )


def replay_message(message: AbstractIncomingMessage) -> aio_pika.Message:
    """The same message with the same properties, minus what the broker sets per delivery."""
    headers = {k: v for k, v in (message.headers or {}).items() if k not in BROKER_HEADERS}
    return aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        priority=message.priority,
        correlation_id=message.correlation_id,
        reply_to=message.reply_to,
        message_id=message.message_id,
        timestamp=message.timestamp,
        type=message.type,
        user_id=message.user_id,
        app_id=message.app_id,
    )


class DeadLetterDesk:
    """Works on the dead-letter queue over its own channels of the dashboard's connection."""

    def __init__(self, connection: AbstractRobustConnection, db: Database, clock: Clock):
        self._connection = connection
        self._db = db
        self._clock = clock
        self._lock = asyncio.Lock()  # one operation at a time holds the letters of a replica

    async def _take(self, channel: AbstractChannel, limit: int) -> list[AbstractIncomingMessage]:
        queue = await channel.get_queue(DEAD_LETTER_QUEUE_NAME, ensure=True)
        taken: list[AbstractIncomingMessage] = []
        while len(taken) < limit:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            taken.append(message)
        return taken

    async def letters(self, *, limit: int = 200) -> list[DeadLetter]:
        """The dead letters, oldest first; none is removed."""
        async with self._lock:
            channel = await self._connection.channel()
            try:
                return [describe(m) for m in await self._take(channel, limit)]
            finally:
                # Closing the channel returns every taken message. Unlike a nack with
                # requeue, a return does not count as a failed delivery, so a quorum
                # queue's delivery limit (20 by default since RabbitMQ 4.0) is not spent
                # by ops looking at the dead letters.
                await channel.close()

    async def letter(self, dead_letter_id: str) -> tuple[DeadLetter, bytes]:
        """One dead letter and its body, left in the queue; raises DeadLetterNotFound."""
        async with self._lock:
            channel = await self._connection.channel()
            try:
                for message in await self._take(channel, 1000):
                    letter = describe(message)
                    if letter.id == dead_letter_id:
                        return letter, message.body
                raise DeadLetterNotFound(dead_letter_id)
            finally:
                await channel.close()  # every taken message goes back, as in letters()

    async def replay(
        self, *, ids: list[str] | None, actor: str, limit: int = 1000
    ) -> list[DeadLetterAction]:
        """Replay the dead letters with these ids (None: all); raises DeadLetterNotFound."""
        return await self._act("replay", ids=ids, actor=actor, limit=limit)

    async def discard(
        self, *, ids: list[str] | None, actor: str, limit: int = 1000
    ) -> list[DeadLetterAction]:
        """Remove the dead letters with these ids (None: all) for good, keeping a record."""
        return await self._act("discard", ids=ids, actor=actor, limit=limit)

    async def _act(
        self,
        action: Literal["replay", "discard"],
        *,
        ids: list[str] | None,
        actor: str,
        limit: int,
    ) -> list[DeadLetterAction]:
        async with self._lock:
            channel = await self._connection.channel(publisher_confirms=True)
            try:
                taken = await self._take(channel, limit)
                chosen = [m for m in taken if ids is None or describe(m).id in ids]
                if ids is not None:
                    found = {describe(m).id for m in chosen}
                    for wanted in ids:
                        if wanted not in found:
                            raise DeadLetterNotFound(wanted)
                return [await self._apply(channel, action, m, actor) for m in chosen]
            finally:
                if not channel.is_closed:
                    await channel.close()  # whatever was not acted on goes back

    async def _apply(
        self,
        channel: AbstractChannel,
        action: Literal["replay", "discard"],
        message: AbstractIncomingMessage,
        actor: str,
    ) -> DeadLetterAction:
        letter = describe(message)
        if action == "replay":
            if not letter.queue:
                raise ReplayRefused(f"Dead letter {letter.id} names no queue it died in.")
            try:
                await channel.default_exchange.publish(
                    replay_message(message), routing_key=letter.queue
                )
            except ChannelClosed as exc:
                raise ReplayRefused(
                    f"RabbitMQ refused to replay {letter.id} to {letter.queue}: {exc}. If the "
                    f"message carries another user's user_id ({message.user_id}), give the "
                    "dashboard's RabbitMQ user the 'impersonator' tag."
                ) from None
        record = DeadLetterAction(
            id=new_id("dla"),
            action=action,
            dead_letter_id=letter.id,
            message_id=letter.message_id,
            queue=letter.queue,
            reason=letter.reason,
            actor=actor,
            at=self._clock.now(),
            size=letter.size,
            sha256=hashlib.sha256(message.body).hexdigest(),
            preview=letter.preview,
        )
        await self._db["dead_letter_actions"].insert_one(
            {"_id": record.id, **record.model_dump(exclude={"id"})}
        )
        await message.ack()  # after the confirm and the record: at least once, never lost
        return record


async def recent_actions(*, db: Database, limit: int = 50) -> list[DeadLetterAction]:
    cursor = db["dead_letter_actions"].find({}).sort("at", -1).limit(limit)
    return [DeadLetterAction.model_validate({**doc, "id": doc["_id"]}) async for doc in cursor]


class HeaderLine(BaseModel):
    name: str
    value: str  # as text; tables, lists and JSON strings pretty-printed
    meaning: str | None = None


HEADER_MEANINGS = {
    "x-first-death-queue": "the queue it died in (a replay goes there)",
    "x-first-death-exchange": "the exchange it had been published to",
    "x-first-death-reason": "why it died",
    "x-death": "RabbitMQ's record of each death",
    "x-regwatch-user-id": "the RabbitMQ user that published it",
    "x-application-id": "the application it belongs to",
    "x-document-type": "the document type the partner declared",
    "x-filename": "the file name the partner gave",
    "x-document-meta": "the partner's metadata of the document",
}


def _readable(value: Any) -> str:
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return (
            json.dumps(parsed, indent=2, ensure_ascii=False)
            if isinstance(parsed, dict | list)
            else value
        )
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return "" if value is None else str(value)


def readable_headers(headers: dict[str, Any]) -> list[HeaderLine]:
    """The headers (already decoded by ``describe``), by name, each with what it means."""
    return [
        HeaderLine(name=name, value=_readable(value), meaning=HEADER_MEANINGS.get(name))
        for name, value in sorted(headers.items())
    ]
