"""Several OS processes of each service, a fleet of partners keeping messages in flight, and
the broker's and the database's own view of what is in flight when a fault is injected."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
from aio_pika.exceptions import AMQPConnectionError
from pymongo.asynchronous.database import AsyncDatabase

from devtools.local_infra import free_port
from devtools.rabbit_cluster import run_ctl
from shared.domain.calendar import authority_date, start_of_day
from shared.domain.deadlines import Deadline
from shared.domain.models import Exporter, new_id
from shared.infra.broker import connect_failover
from shared.infra.deadline_store import open_deadline
from shared.infra.settings import Settings
from shared.infra.topology import INTAKE_EXCHANGE, SUBMIT_ROUTING_KEY
from tests.factories import make_application
from tests.faults.stream import document_message
from tests.processes import ServiceProcess, service_env
from tests.servers import management_request

# What a service's consumer connection is called (shared.infra.broker.connection_name).
CONSUMER_CONNECTION = re.compile(r"regwatch-(\w+)-consumer \S+:(\d+)")


@dataclass
class Replica:
    """One process of a service; ``work`` counts what its earlier incarnations did."""

    service: str
    env: dict[str, str]
    process: ServiceProcess = field(init=False)
    work: int = 0
    scheduler_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.process = ServiceProcess(self.service, self.env)

    @property
    def pid(self) -> int:
        return self.process.process.pid

    def handled(self) -> int:
        """Messages this incarnation handled, from FastStream's per-message log lines."""
        return self.process.output().count('"msg": "Processed"')

    def scheduler_name(self) -> str | None:
        found = re.search(r"ready: replica (\S+?),", self.process.output())
        return found.group(1) if found else None

    def kill(self) -> None:
        """SIGKILL, then account for the work done so far."""
        self.work += self.handled()
        if (name := self.scheduler_name()) is not None:
            self.scheduler_names.append(name)
        self.process.kill()

    def restart(self) -> None:
        self.process = ServiceProcess(self.service, self.env)

    def total_work(self) -> int:
        return self.work + self.handled()

    def names(self) -> list[str]:
        current = self.scheduler_name()
        return self.scheduler_names + ([current] if current else [])


class ReplicaSet:
    """``counts[service]`` processes of each service; replica ``i`` lists the broker nodes
    starting from node ``i`` (spread over a cluster's nodes), with its own HTTP port."""

    def __init__(self, settings: Settings, counts: dict[str, int], **overrides: Any) -> None:
        self.replicas: list[Replica] = []
        urls = settings.broker_urls
        for service, count in counts.items():
            for index in range(count):
                rotated = urls[index % len(urls) :] + urls[: index % len(urls)]
                env = service_env(
                    settings,
                    outbox_lease_seconds=settings.outbox_lease_seconds,
                    intake_http_port=free_port(),
                    message_log_level="INFO",  # handled() counts the "Processed" lines
                    **overrides,
                )
                env["AMQP_URL"] = rotated[0]
                env["AMQP_URLS"] = ",".join(rotated)
                self.replicas.append(Replica(service, env))

    def of(self, service: str) -> list[Replica]:
        return [r for r in self.replicas if r.service == service]

    def stop(self) -> None:
        """SIGTERM every replica at once, then SIGKILL whichever is still up after 20 s."""
        for replica in self.replicas:
            if replica.process.alive():
                os.killpg(replica.pid, signal.SIGTERM)
        for replica in self.replicas:
            replica.process.stop()  # waits, and SIGKILLs one that outlives its grace

    def dead(self) -> list[str]:
        return [f"{r.service} pid {r.pid}" for r in self.replicas if not r.process.alive()]


class BrokerView:
    """Counts from the broker itself: rabbitmqctl asks the queue and channel processes; the
    management API (when the node has it) answers in milliseconds rather than a second,
    from statistics the fault suite's node collects every 250 ms."""

    def __init__(self, ctl_json: Callable[..., Any], management_url: str | None = None) -> None:
        self._ctl_json = ctl_json
        self._management_url = management_url

    def _channels(self) -> list[tuple[str | None, int]]:
        if self._management_url is None:
            connections = {
                c["pid"]: _connection_name(c["client_properties"])
                for c in self._ctl_json("list_connections", "pid", "client_properties")
            }
            return [
                (connections.get(c["connection"]), int(c["messages_unacknowledged"]))
                for c in self._ctl_json("list_channels", "connection", "messages_unacknowledged")
            ]
        connections = {
            c["name"]: (c.get("client_properties") or {}).get("connection_name")
            for c in management_request(self._management_url, "GET", "connections")
        }
        return [
            (
                connections.get(_connection_of(c)),
                int(c.get("messages_unacknowledged", 0)),
            )
            for c in management_request(self._management_url, "GET", "channels")
        ]

    def unacked_by_pid(self) -> dict[int, int]:
        """Unacknowledged deliveries held by each service process's consumer connection."""
        held: dict[int, int] = {}
        for name, unacked in self._channels():
            if name and (found := CONSUMER_CONNECTION.match(name)):
                pid = int(found.group(2))
                held[pid] = held.get(pid, 0) + unacked
        return held

    def in_flight(self, queues: list[str]) -> int:
        """Messages ready or unacknowledged in ``queues``."""
        rows = self._ctl_json("list_queues", "name", "messages_ready", "messages_unacknowledged")
        return sum(
            int(r["messages_ready"] or 0) + int(r["messages_unacknowledged"] or 0)
            for r in rows
            if r["name"] in queues
        )


def _connection_name(properties: Any) -> str | None:
    # rabbitmqctl's JSON gives client properties as [name, type, value] triples.
    for item in properties or []:
        if isinstance(item, list) and item and item[0] == "connection_name":
            return str(item[-1])
    if isinstance(properties, dict):
        return properties.get("connection_name")
    return None


def ctl_json_runner(rabbitmqctl: list[str], env: dict[str, str]) -> Callable[..., Any]:
    def run(*args: str) -> Any:
        return json.loads(
            run_ctl([*rabbitmqctl, "-q", "--formatter", "json", *args], env, 60) or "[]"
        )

    return run


async def leased_claims(db: AsyncDatabase, replica_name: str) -> int:
    """Reminders the scheduler replica holds under a live lease right now."""
    return await db["reminders"].count_documents(
        {
            "status": "claimed",
            "claimed_by": {"$regex": f"^{re.escape(replica_name)}:"},
            "lease_until": {"$gt": datetime.now(UTC)},
        }
    )


class PartnerFleet:
    """Several partners, each on its own connection, each keeping ``window`` documents in
    flight with publisher confirms, resending whatever was not confirmed (as the contract
    asks), so resends after a fault may duplicate and intake must absorb them."""

    def __init__(self, urls: list[str], partners: int = 4, window: int = 8) -> None:
        self.urls = urls
        self.partners = partners
        self.window = window
        self.confirmed: set[str] = set()
        self.resends = 0
        self.published = 0
        self.unconfirmed = 0  # publishes sent and not yet confirmed or failed, now

    async def send(self, documents: list[tuple[str, int]], *, timeout: float = 240) -> None:
        """Send every (application id, index) until confirmed, spread over the partners."""
        shares = [documents[p :: self.partners] for p in range(self.partners)]
        await asyncio.wait_for(
            asyncio.gather(*(self._partner(n, share) for n, share in enumerate(shares))),
            timeout,
        )

    async def _connect(self, number: int) -> Any:
        """A partner's connection; a broker down at that moment is tried again, as a
        partner's client would (``send`` bounds the whole)."""
        while True:
            try:
                return await asyncio.wait_for(
                    connect_failover(
                        random.sample(self.urls, len(self.urls)),
                        name=f"fault-partner-{number}",
                        reconnect_interval=0.5,
                    ),
                    60,
                )
            except (AMQPConnectionError, OSError):  # refused, or reset while it starts
                await asyncio.sleep(0.5)

    async def _partner(self, number: int, documents: list[tuple[str, int]]) -> None:
        connection = await self._connect(number)
        slots = asyncio.Semaphore(self.window)
        try:
            await asyncio.gather(*(self._one(connection, slots, d) for d in documents))
        finally:
            await asyncio.wait_for(connection.close(), 10)

    async def _one(
        self, connection: Any, slots: asyncio.Semaphore, document: tuple[str, int]
    ) -> None:
        async with slots:
            attempt = 0
            while True:
                attempt += 1
                self.unconfirmed += 1
                try:
                    # Bounded: a channel opened while the connection is away waits for it.
                    await asyncio.wait_for(self._publish(connection, document), 15)
                    self.confirmed.add(f"{document[0]}-{document[1]}")
                    return
                except (aio_pika.exceptions.AMQPError, OSError, TimeoutError, RuntimeError):
                    self.resends += 1
                    await asyncio.sleep(min(0.2 * attempt, 2))
                finally:
                    self.unconfirmed -= 1

    async def _publish(self, connection: Any, document: tuple[str, int]) -> None:
        channel = await connection.channel(publisher_confirms=True)
        try:
            exchange = await channel.get_exchange(INTAKE_EXCHANGE.name, ensure=False)
            self.published += 1
            await exchange.publish(document_message(*document), SUBMIT_ROUTING_KEY)
        finally:
            if not channel.is_closed:
                await channel.close()


def _connection_of(channel: dict[str, Any]) -> str | None:
    """The name of a channel's connection as the management API lists it; a channel whose
    connection is closing has no details (an empty list)."""
    details = channel.get("connection_details")
    return details.get("name") if isinstance(details, dict) else None


def closing_with_reminder_fired(now: datetime, offset_days: int = 3) -> datetime:
    """When a window closes whose T-<offset_days>d reminder has fired by ``now``, at any hour.

    Reminders fire at 09:00 Beijing time; the window closes at 24:00 Beijing time on the
    day ``offset_days`` after the latest day whose 09:00 has passed. (A window closing three
    days from ``now`` would not do: from 16:00 to 01:00 UTC, Beijing is a day ahead and its
    reminder is still to come.)
    """
    fired_on = authority_date(now - timedelta(hours=9))  # 09:00 Beijing has passed on it
    return start_of_day(fired_on + timedelta(days=offset_days + 1))


async def due_reminders(db: AsyncDatabase, partner_id: str, count: int, tag: str) -> list[str]:
    """``count`` applications whose rectification window has a reminder due now, each with
    two contacts; returns every contact address."""
    now = datetime.now(UTC)
    emails: list[str] = []
    for index in range(count):
        contacts = [f"c{c}-{index}-{tag}@exporter.example" for c in range(2)]
        emails += contacts
        exporter = Exporter(name=f"Exporter {tag} {index}", country="NZ", contact_emails=contacts)
        application_id = await make_application(
            db, partner_id, exporter=exporter, status="rectification_requested"
        )
        await open_deadline(
            db,
            Deadline(
                _id=new_id("dl"),
                kind="rectification",
                subject=application_id,
                application_id=application_id,
                due_at=closing_with_reminder_fired(now, 3),
                opened_at=now,
                reminder_offsets_days=[3],
            ),
        )
    return emails


@dataclass
class Tally:
    """Counts, never sets: how many times each thing happened."""

    lost: list[str] = field(default_factory=list)
    user_duplicates: list[str] = field(default_factory=list)
    absorbed: int = 0


async def tally(
    db: AsyncDatabase,
    confirmed: set[str],
    emails: list[str],
    events: list[dict[str, Any]],
    mails: list[Any],
) -> Tally:
    """Compare what was confirmed and due with what was stored, published and mailed."""
    result = Tally()
    documents = await db["documents"].find({}, {"idempotency_key": 1}).to_list()
    per_key = Counter(d["idempotency_key"] for d in documents)
    result.lost += [f"document {k}" for k in confirmed if per_key[k] == 0]
    result.user_duplicates += [f"document {k} x{n}" for k, n in per_key.items() if n > 1]
    received = await db["outbox"].find({"type": "document.received"}, {"event": 1}).to_list()
    per_document = Counter(e["event"]["data"]["document_id"] for e in received)
    result.lost += [
        f"document.received of {d['_id']}" for d in documents if not per_document[d["_id"]]
    ]
    result.user_duplicates += [
        f"document.received of {d} x{n}" for d, n in per_document.items() if n > 1
    ]
    # The broker may carry an event twice (relay killed between confirm and mark, partner
    # resends): consumers de-duplicate by event id, which the inbox's unique index enforces.
    per_event = Counter(e["id"] for e in events)
    result.absorbed += sum(n - 1 for n in per_event.values())
    inbox = await db["inbox"].find({"consumer": "validator"}, {"event_id": 1}).to_list()
    per_inbox = Counter(i["event_id"] for i in inbox)
    result.user_duplicates += [f"validator applied {e} x{n}" for e, n in per_inbox.items() if n > 1]
    # Mail: the same Message-ID twice is one mail to the reader (SMTP took it, the notifier
    # died before recording it); two Message-IDs for one reminder would be a real duplicate.
    per_recipient: dict[str, Counter[str]] = {}
    for mail in mails:
        per_recipient.setdefault(str(mail["To"]), Counter())[str(mail["Message-ID"])] += 1
    for recipient in emails:
        ids = per_recipient.get(recipient, Counter())
        if not ids:
            result.lost.append(f"reminder mail to {recipient}")
        if len(ids) > 1:
            result.user_duplicates.append(f"{len(ids)} different reminder mails to {recipient}")
        result.absorbed += sum(n - 1 for n in ids.values())
    return result
