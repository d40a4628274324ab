"""Helpers of the scheduler and notifier tests: an isolated vhost + database, mail reading."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from typing import Any

import aio_pika

from devtools.smtp_sink import read_maildir
from shared.domain.events import CloudEvent
from shared.infra.outbox import CLOUDEVENTS_CONTENT_TYPE
from shared.infra.settings import Settings
from shared.infra.topology import EVENTS_EXCHANGE
from tests import servers


@contextmanager
def isolated_settings(settings: Settings, **updates: Any) -> Iterator[Settings]:
    """``settings`` on a RabbitMQ vhost and a database of their own.

    The scheduler moves a clock months ahead and the notifier drains its queue: neither
    may touch what other tests left in the session's vhost and database.
    """
    with servers.rabbitmq_vhost() as vhost:
        yield settings.model_copy(
            update={
                "amqp_url": vhost["amqp_url"],
                "mongodb_db": f"regwatch_sched_{uuid.uuid4().hex[:8]}",
                **updates,
            }
        )


def ensure_maildir(maildir: str | Path) -> None:
    """Make the Maildir's tmp/new/cur if the sink has not (sinks before commit 55fdea9 made
    the folder only, so every mail was refused with 500 FileNotFoundError)."""
    for sub in ("tmp", "new", "cur"):
        (Path(maildir) / sub).mkdir(parents=True, exist_ok=True)


def mails_to(maildir: str | Path, recipients: set[str]) -> list[Message]:
    """The mails the sink kept for any of ``recipients``, oldest first."""
    if not (Path(maildir) / "cur").is_dir():  # the sink makes its Maildir on the first mail
        return []
    return [m for m in read_maildir(maildir) if m["To"] in recipients]


def subject_of(message: Message) -> str:
    """The Subject header unfolded (long subjects arrive folded over several lines)."""
    return re.sub(r"\r?\n", "", str(message["Subject"]))


def body_text(message: Message) -> str:
    """The plain-text part of a mail."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("mail without a text/plain part")


async def publish_event(amqp_url: str, event: CloudEvent) -> None:
    """Publish ``event`` on ``regwatch.events`` the way the outbox relay does."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE.name)
        await exchange.publish(
            aio_pika.Message(
                event.model_dump_json().encode(),
                message_id=event.id,
                content_type=CLOUDEVENTS_CONTENT_TYPE,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=event.type,
        )
