"""What every service does at start-up: logging, pre-flight checks, connections, shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aio_pika
from aio_pika.exceptions import AMQPConnectionError, ProbableAuthenticationError
from faststream.rabbit import RabbitBroker
from pymongo.errors import OperationFailure, PyMongoError

from shared.domain.catalog import CatalogError, cached_catalog
from shared.domain.clock import Clock, clock_from
from shared.infra import db as mongo
from shared.infra.activity import report_activity
from shared.infra.broker import connection_name, declare_topology, make_broker
from shared.infra.broker_policies import (
    BrokerPolicyError,
    apply_dead_letter_policy,
    apply_partner_events_policy,
)
from shared.infra.logs import configure_logging
from shared.infra.metrics import start_exporter
from shared.infra.mongo_types import Database, MongoClient
from shared.infra.outbox import OutboxRelay
from shared.infra.publisher import Publisher
from shared.infra.settings import Settings, get_settings
from shared.infra.unit_of_work import Work, run_unit_of_work

log = logging.getLogger("regwatch.runtime")
T = TypeVar("T")


class StartupError(Exception):
    """A configuration or connectivity problem found before the service starts."""


def redact(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


async def check_mongodb(settings: Settings) -> None:
    """Ping MongoDB; raise StartupError with one specific line if it does not answer."""
    client: MongoClient = mongo.connect(settings)
    try:
        await client[settings.mongodb_db].command("ping")
    except OperationFailure as exc:
        raise StartupError(
            f"MongoDB at {redact(settings.mongodb_url)} refused us: {exc.details or exc}"
        ) from None
    except PyMongoError as exc:
        first = str(exc).split(",")[0].split("\n")[0]
        raise StartupError(
            f"cannot reach MongoDB at {redact(settings.mongodb_url)} (MONGODB_URL): {first}"
        ) from None
    finally:
        await client.close()


async def check_rabbitmq(settings: Settings) -> None:
    """Open and close one AMQP connection; raise StartupError with one line on failure.

    With several broker addresses (a cluster), one node that answers is enough: the
    service fails over to the others later.
    """
    # The driver logs its own error first; the one line below says it all.
    quiet = logging.getLogger("aiormq.connection")
    previous, quiet.disabled = quiet.disabled, True
    failure = StartupError("no broker address (AMQP_URL)")
    try:
        for url in settings.broker_urls:
            try:
                connection = await asyncio.wait_for(aio_pika.connect(url), timeout=10)
            except ProbableAuthenticationError:
                raise StartupError(
                    f"RabbitMQ at {redact(url)} refused the credentials (AMQP_URL)"
                ) from None
            except (AMQPConnectionError, OSError, TimeoutError) as exc:
                reason = str(exc).split("\n")[0] or type(exc).__name__
                failure = StartupError(
                    f"cannot reach RabbitMQ at {redact(url)} (AMQP_URL): {reason}"
                )
                continue
            await connection.close()
            return
    finally:
        quiet.disabled = previous
    raise failure


@dataclass
class ServiceContext:
    """The connections and helpers one service process works with."""

    service: str
    settings: Settings
    clock: Clock
    client: MongoClient
    db: Database
    broker: RabbitBroker
    relay: OutboxRelay

    async def unit_of_work(self, work: Work[T]) -> T:
        """Run ``work`` in one transaction with the events it stages, published after commit."""
        return await run_unit_of_work(
            self.client, self.db, work, clock=self.clock, relay=self.relay
        )

    async def close(self) -> None:
        await self.relay.stop()
        await self.broker.stop()
        await self.client.close()

    async def start_consuming(self) -> None:
        """Start the subscribers registered on the broker, and the outbox relay's sweep."""
        await self.broker.start()
        self.relay.start()

    async def run_until_stopped(self) -> None:
        """Serve until the task is cancelled (by SIGTERM/SIGINT), then close cleanly."""
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()


async def open_context(
    service: str, settings: Settings | None = None, clock: Clock | None = None
) -> ServiceContext:
    """Check the servers, connect, create indexes and declare the topology.

    The returned broker is connected but not started: register subscribers, then
    ``await ctx.broker.start()``.
    """
    settings = settings or get_settings()
    try:  # an invalid requirements catalog stops every service before it touches anything
        cached_catalog(settings.catalog_dir)
    except CatalogError as exc:
        raise StartupError(f"invalid requirements catalog: {exc}") from None
    await check_rabbitmq(settings)
    await check_mongodb(settings)
    # After the checks: a service that cannot start says so in one line, nothing more.
    log.info(starting_line(service, settings))
    clock = clock or clock_from(settings.regwatch_now)
    client = mongo.connect(settings)
    database = mongo.database(client, settings)
    await mongo.ensure_indexes(database)
    broker = make_broker(settings, service)
    await broker.connect()
    await declare_topology(broker, settings)
    await apply_broker_policies(settings)
    relay = OutboxRelay(
        database,
        Publisher(settings.broker_urls, name=connection_name(service, "publisher")),
        clock,
        lease_seconds=settings.outbox_lease_seconds,
        poll_seconds=settings.outbox_poll_seconds,
        mark_seconds=settings.outbox_mark_seconds,
    )
    return ServiceContext(service, settings, clock, client, database, broker, relay)


async def apply_broker_policies(settings: Settings) -> None:
    """Set regwatch's broker policies: the partner events queues' length bound from this
    service's settings, and the dead-letter queue's explicit delivery limit.

    Not a reason to stop: without the management API the queues keep the policies last set.
    """
    try:
        await apply_partner_events_policy(settings)
        await apply_dead_letter_policy(settings)
    except BrokerPolicyError as exc:
        log.warning("broker policies keep their previous settings: %s", exc)


def starting_line(service: str, settings: Settings) -> str:
    """What a person checks first in a start-up log: where it connects, secrets hidden."""
    smtp = f"{settings.smtp_host}:{settings.smtp_port} (tls {settings.smtp_tls})"
    clock = (
        f"REGWATCH_NOW {settings.regwatch_now.isoformat()}" if settings.regwatch_now else "system"
    )
    return (
        f"starting regwatch-{service}: broker {', '.join(map(redact, settings.broker_urls))}, "
        f"MongoDB {redact(settings.mongodb_url)} db {settings.mongodb_db}, SMTP {smtp}, "
        f"catalog {settings.catalog_dir or 'built-in'}, clock {clock}, "
        f"log level {settings.log_level.upper()}"
    )


async def _until_signalled(
    service: str, main: Callable[[Settings], Coroutine[Any, Any, None]], settings: Settings
) -> None:
    """Run ``main``; the first SIGTERM or SIGINT cancels it, so its cleanup runs.

    Later signals are ignored: Ctrl-C under honcho sends SIGINT and then SIGTERM, and a
    second cancellation would cut the cleanup short (and print a traceback).
    """
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    received: list[str] = []

    def stop(sig: signal.Signals) -> None:
        if not received:
            received.append(sig.name)
            task.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop, sig)
    reporter = asyncio.create_task(report_activity(), name="activity-summary")
    try:
        await main(settings)
    except asyncio.CancelledError:
        if not received:
            raise
    finally:
        reporter.cancel()
    log.info(f"stopped by signal {received[0]}" if received else "stopped")


def settle_heap() -> None:
    """Keep what the process has built so far out of the garbage collector's passes.

    The modules, classes and schemas imported at start (about 100,000 objects) live as long
    as the process; without this, each full collection walks them all again (about 50 ms,
    every few hundred messages). Frozen objects are still freed by their reference counts.
    """
    gc.collect()
    gc.freeze()


def run_service(service: str, main: Callable[[Settings], Coroutine[Any, Any, None]]) -> None:
    """Entry point of ``python -m services.<name>``: one line and exit 2 on bad config."""
    try:
        settings = get_settings()
    except Exception as exc:  # pydantic's ValidationError: show it briefly
        print(f"regwatch-{service}: invalid configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(service, settings.log_level, settings.log_format)
    start_exporter(settings.metrics_port, settings.http_host)  # METRICS_PORT=0: off
    settle_heap()
    try:
        asyncio.run(_until_signalled(service, main, settings))
    except StartupError as exc:
        print(f"regwatch-{service}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        pass
