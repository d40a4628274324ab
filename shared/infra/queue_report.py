"""Queue health: counts from the RabbitMQ management API, alarms ops must not miss.

The management API's figures lag by its statistics interval (and more for quorum
queues), so the counts the alarms rest on (ready messages, consumers) come from a passive
declare of each queue, which the broker answers with its current numbers.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, unquote, urlsplit

import httpx
from aio_pika.abc import AbstractRobustConnection
from aio_pika.exceptions import ChannelClosed
from pydantic import BaseModel

from shared.infra.settings import Settings
from shared.infra.topology import CONSUMER_QUEUES, DEAD_LETTER_QUEUE_NAME

log = logging.getLogger("regwatch.dashboard.queues")
WATCHED_QUEUES = tuple(c.name for c in CONSUMER_QUEUES) + (DEAD_LETTER_QUEUE_NAME,)


class QueueStat(BaseModel):
    name: str
    ready: int
    unacked: int | None  # None when the management API did not answer
    consumers: int
    exists: bool = True


class Alarm(BaseModel):
    queue: str
    message: str


class QueueReport(BaseModel):
    queues: list[QueueStat]
    alarms: list[Alarm]
    management_error: str | None = None


def vhost_of(amqp_url: str) -> str:
    path = urlsplit(amqp_url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


async def management_stats(settings: Settings) -> dict[str, dict[str, int]]:
    """name -> {messages_unacknowledged, ...} for the vhost's queues, from the management API."""
    vhost = quote(vhost_of(settings.amqp_url), safe="")
    url = f"{settings.rabbitmq_management_url}/api/queues/{vhost}"
    auth = (settings.rabbitmq_management_user, settings.rabbitmq_management_password)
    async with httpx.AsyncClient(timeout=5.0) as client:
        response = await client.get(
            url, auth=auth, params={"columns": "name,messages_unacknowledged,consumers"}
        )
        response.raise_for_status()
    return {q["name"]: q for q in response.json()}


async def declared_counts(
    connection: AbstractRobustConnection, name: str
) -> tuple[int, int] | None:
    """(ready messages, consumers) of ``name`` as the broker has them now; None if missing."""
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(name, passive=True)
        result = queue.declaration_result
        return int(result.message_count or 0), int(result.consumer_count or 0)
    except ChannelClosed:
        return None  # a passive declare of a missing queue closes the channel
    finally:
        if not channel.is_closed:
            await channel.close()


def alarms_for(stats: list[QueueStat]) -> list[Alarm]:
    alarms = []
    for stat in stats:
        if stat.name == DEAD_LETTER_QUEUE_NAME:
            if stat.ready:
                alarms.append(
                    Alarm(
                        queue=stat.name, message=f"{stat.ready} message(s) in the dead-letter queue"
                    )
                )
        elif not stat.exists:
            alarms.append(Alarm(queue=stat.name, message="queue does not exist"))
        elif stat.consumers == 0:
            alarms.append(Alarm(queue=stat.name, message="no consumer: nothing handles this queue"))
    return alarms


async def queue_report(settings: Settings, connection: AbstractRobustConnection) -> QueueReport:
    """Counts of every regwatch queue and the alarms they raise."""
    error = None
    try:
        managed = await management_stats(settings)
    except (httpx.HTTPError, ValueError) as exc:
        managed, error = {}, f"RabbitMQ management API at {settings.rabbitmq_management_url}: {exc}"
        log.warning("%s", error)
    stats = []
    for name in WATCHED_QUEUES:
        counts = await declared_counts(connection, name)
        unacked = managed.get(name, {}).get("messages_unacknowledged") if not error else None
        if counts is None:
            stats.append(QueueStat(name=name, ready=0, unacked=None, consumers=0, exists=False))
        else:
            stats.append(
                QueueStat(name=name, ready=counts[0], unacked=unacked, consumers=counts[1])
            )
    return QueueReport(queues=stats, alarms=alarms_for(stats), management_error=error)
