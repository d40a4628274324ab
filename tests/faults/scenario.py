"""One stream through every service: replicas started, documents and due reminders fed,
faults injected with work checked to be in flight, then everything waited out and counted."""

from __future__ import annotations

import asyncio
import random
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from devtools.local_infra import free_port
from devtools.smtp_sink import read_maildir, start_sink
from shared.infra.settings import Settings
from shared.infra.topology import (
    CONSUMER_QUEUES,
    DEAD_LETTER_QUEUE_NAME,
    INTAKE_DOCUMENTS,
    NOTIFIER_EVENTS,
    VALIDATOR_EVENTS,
)
from tests.factories import make_application, make_partner
from tests.faults.replicas import (
    BrokerView,
    PartnerFleet,
    ReplicaSet,
    Tally,
    due_reminders,
    leased_claims,
    tally,
)
from tests.faults.stream import declare_tap, drain_tap, purge_queues
from tests.processes import wait_for_consumers
from tests.support import wait_until

QUEUE_OF = {
    "intake": INTAKE_DOCUMENTS.name,
    "validator": VALIDATOR_EVENTS.name,
    "notifier": NOTIFIER_EVENTS.name,
}


async def reap_abandoned_transactions(db: AsyncDatabase, every: float = 2.0) -> None:
    """Stand in for mongod's background reaper of abandoned transactions.

    A replica SIGKILLed inside a transaction leaves it open, and writers that meet its
    uncommitted writes wait for it, as on mongod, which aborts it after 60 s
    (transactionLifetimeLimitSeconds) on a timer. SecantusDB aborts it only when some other
    transaction runs: when every scheduler is waiting on the same claim, none ever does, and
    the ticks would wait forever. A small transaction every few seconds restores mongod's
    bound.
    """
    while True:
        try:
            async with db.client.start_session() as session:

                async def touch(s: AsyncClientSession) -> None:
                    await db["fault_reaper"].find_one({}, session=s)

                await session.with_transaction(touch)
        except PyMongoError:  # the database is being killed or restarted: try again later
            pass
        await asyncio.sleep(every)


@dataclass
class Stream:
    settings: Settings
    db: AsyncDatabase
    view: BrokerView
    replicas: ReplicaSet
    fleet: PartnerFleet
    maildir: Path
    sink: Any
    partner_id: str
    applications: list[str]
    emails: list[str] = field(default_factory=list)
    in_flight: list[int] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    sending: list[asyncio.Task[None]] = field(default_factory=list)
    documents_sent: int = 0
    reaper: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls,
        settings: Settings,
        db: AsyncDatabase,
        counts: dict[str, int],
        ctl_json: Callable[..., Any],
        *,
        management_url: str | None = None,
        applications: int = 20,
        # Small claim batches: a few dozen due reminders reach every scheduler replica,
        # and a fault lands while a scheduler is between batches of a tick.
        scheduler_batch_size: int = 10,
        mail_delay: float = 0.0,  # seconds the mail server takes to accept each mail
    ) -> Stream:
        maildir = Path(tempfile.mkdtemp(prefix="regwatch-replica-mail-"))
        port = free_port()
        sink = start_sink("127.0.0.1", port, maildir, delay=mail_delay)
        settings = settings.model_copy(update={"smtp_port": port})
        await declare_tap(settings.amqp_url)
        # The broker outlives tests (a session's node, a module's cluster): start empty.
        await purge_queues(
            settings.amqp_url, [q.name for q in CONSUMER_QUEUES] + [DEAD_LETTER_QUEUE_NAME]
        )
        replicas = ReplicaSet(
            settings,
            counts,
            scheduler_tick_seconds=1,
            scheduler_lease_seconds=4,
            smtp_timeout_seconds=2,
            smtp_retry_base_seconds=0.5,
            smtp_retry_max_seconds=2,
            scheduler_batch_size=scheduler_batch_size,
        )
        partner = await db["partners"].find_one({"amqp_user": "guest"})
        partner_id = partner["_id"] if partner else await make_partner(db, amqp_user="guest")
        apps = [
            await make_application(db, partner_id, category="scrap.metal", kind="renewal")
            for _ in range(applications)
        ]
        stream = cls(
            settings,
            db,
            BrokerView(ctl_json, management_url),
            replicas,
            PartnerFleet(settings.broker_urls),
            maildir,
            sink,
            partner_id,
            apps,
        )
        stream.reaper = asyncio.create_task(reap_abandoned_transactions(db))
        await stream.wait_consuming()
        return stream

    async def wait_consuming(self, timeout: float = 120) -> None:
        """Every replica's consumer attached (asked of the broker), every scheduler ready."""
        for service, queue in QUEUE_OF.items():
            count = len(self.replicas.of(service))
            if count:
                await asyncio.to_thread(
                    wait_for_consumers, self.settings.amqp_url, queue, count, timeout
                )
        for replica in self.replicas.of("scheduler"):
            await wait_until(
                lambda r=replica: r.scheduler_name() is not None,  # type: ignore[misc]
                timeout=timeout,
                interval=0.2,
                message=lambda r=replica: r.process.output()[-2000:],  # type: ignore[misc]
            )

    def documents(self, count: int) -> list[tuple[str, int]]:
        """``count`` documents not sent before (each index is a message id of its own)."""
        first, self.documents_sent = self.documents_sent, self.documents_sent + count
        apps = self.applications
        return [(apps[i % len(apps)], i) for i in range(first, self.documents_sent)]

    def send_in_background(self, count: int) -> None:
        """The partners start sending ``count`` more documents; ``sent`` waits for them all."""
        self.sending.append(asyncio.create_task(self.fleet.send(self.documents(count))))

    async def sent(self) -> None:
        assert self.sending
        await asyncio.gather(*self.sending)

    async def wait_for_publishing(self, at_least: int = 4, timeout: float = 60) -> int:
        """Wait until partners have ``at_least`` publishes awaiting the broker's confirm."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self.fleet.unconfirmed >= at_least:
                return self.fleet.unconfirmed
            await asyncio.sleep(0.005)
        raise AssertionError(f"partners never had {at_least} publishes awaiting confirms")

    async def held_by_consumers(self) -> int:
        """Deliveries the services' consumers hold unacknowledged now, as the broker sees it."""
        by_pid = await asyncio.to_thread(self.view.unacked_by_pid)
        return sum(by_pid.values())

    async def wait_for_held_work(self, timeout: float = 60) -> int:
        """Wait until the consumers hold deliveries (so a fault now meets work in flight)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if held := await self.held_by_consumers():
                return held
            await asyncio.sleep(0.05)
        raise AssertionError(f"no consumer held a delivery within {timeout} s")

    async def add_reminders(self, count: int) -> None:
        self.emails += await due_reminders(self.db, self.partner_id, count, uuid.uuid4().hex[:6])

    async def kill_busy_replica(self, service: str, timeout: float = 120) -> None:
        """SIGKILL a replica of ``service`` that holds work right now, then restart it.

        Consumers: the broker lists unacknowledged deliveries on its consumer connection.
        Schedulers: the database holds reminders claimed by it under a live lease.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            alive = [r for r in self.replicas.of(service) if r.process.alive()]
            random.shuffle(alive)
            if service == "scheduler":
                for replica in alive:
                    name = replica.scheduler_name()
                    if name and (held := await leased_claims(self.db, name)):
                        replica.kill()
                        break
                else:
                    await asyncio.sleep(0.02)
                    continue
            else:
                by_pid = await asyncio.to_thread(self.view.unacked_by_pid)
                busy = [r for r in alive if by_pid.get(r.pid, 0) > 0]
                if not busy:
                    await asyncio.sleep(0.1)
                    continue
                replica = busy[0]
                held = by_pid[replica.pid]
                replica.kill()
            self.faults.append(f"SIGKILL {service}")
            self.in_flight.append(held)
            replica.restart()
            return
        raise AssertionError(f"no {service} replica held work within {timeout} s")

    async def settle(self, timeout: float = 240) -> None:
        """Wait until every confirmed document is stored, every event relayed, every queue
        drained and every due reminder mailed."""
        progress: dict[str, int] = {}

        async def done() -> bool:
            progress["stored"] = await self.db["documents"].count_documents({})
            progress["outbox pending"] = await self.db["outbox"].count_documents(
                {"status": "pending"}
            )
            mailed = {str(m["To"]) for m in read_maildir(self.maildir)}
            progress["due mails missing"] = len(set(self.emails) - mailed)
            progress["queued"] = await self.queued()
            return (
                progress["stored"] >= len(self.fleet.confirmed)
                and not progress["outbox pending"]
                and not progress["due mails missing"]
                and not progress["queued"]
            )

        def describe() -> str:
            return f"{progress}; confirmed {len(self.fleet.confirmed)}; {self.describe()}"

        await wait_until(done, timeout=timeout, interval=1.0, message=describe)

    async def queued(self) -> int:
        """Messages ready or unacknowledged in the queues of the services that run here
        (a queue no replica consumes, such as the notifier's in a throughput run, fills)."""
        queues = [QUEUE_OF[s] for s in QUEUE_OF if self.replicas.of(s)]
        return await asyncio.to_thread(self.view.in_flight, queues)

    def describe(self) -> str:
        return f"dead replicas: {self.replicas.dead()}"

    async def dead_letters(self) -> int:
        """Messages in the dead-letter queue (purged at start): none is promised."""
        connection = await aio_pika.connect(self.settings.amqp_url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(DEAD_LETTER_QUEUE_NAME, passive=True)
            return int(queue.declaration_result.message_count or 0)

    async def count(self) -> Tally:
        events = await drain_tap(self.settings.amqp_url)
        return await tally(
            self.db, self.fleet.confirmed, self.emails, events, read_maildir(self.maildir)
        )

    async def work_by_replica(self) -> dict[str, list[int]]:
        """What each replica did: messages handled, or reminders claimed (schedulers)."""
        work: dict[str, list[int]] = {}
        for replica in self.replicas.replicas:
            if replica.service == "scheduler":
                done = 0
                for name in replica.names():
                    done += await self.db["reminders"].count_documents(
                        {"claimed_by": {"$regex": f"^{name}:"}}
                    )
            else:
                done = replica.total_work()
            work.setdefault(replica.service, []).append(done)
        return work

    async def close(self) -> None:
        """Stop the partners (a failed check must not leave them reconnecting), every
        replica and the mail sink."""
        for task in [*self.sending, self.reaper]:
            if task is not None and not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=30)
        await asyncio.to_thread(self.replicas.stop)
        self.sink.stop()
