"""What an ops tool outside the dashboard process needs: the CLI opens this once per command."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import aio_pika
from aio_pika.abc import AbstractRobustConnection

from shared.app.dead_letters import DeadLetterDesk
from shared.domain.clock import Clock, clock_from
from shared.infra import db as mongo
from shared.infra.mongo_types import Database
from shared.infra.runtime import StartupError, check_mongodb, check_rabbitmq
from shared.infra.settings import Settings

T = TypeVar("T")


@dataclass
class OpsAccess:
    settings: Settings
    clock: Clock
    db: Database
    connection: AbstractRobustConnection
    desk: DeadLetterDesk


@asynccontextmanager
async def ops_access(settings: Settings) -> AsyncIterator[OpsAccess]:
    """Connect to MongoDB and RabbitMQ; raises StartupError with one line if either is down."""
    await check_rabbitmq(settings)
    await check_mongodb(settings)
    clock = clock_from(settings.regwatch_now)
    client = mongo.connect(settings)
    connection = await aio_pika.connect_robust(settings.amqp_url)
    try:
        db = mongo.database(client, settings)
        yield OpsAccess(settings, clock, db, connection, DeadLetterDesk(connection, db, clock))
    finally:
        await connection.close()
        await client.close()


def run_with_ops(work: Callable[[OpsAccess], Awaitable[T]]) -> T:
    """Run ``work`` with fresh settings from the environment; one line and exit 2 if a
    server does not answer."""
    settings = Settings()

    async def main() -> T:
        async with ops_access(settings) as ops:
            return await work(ops)

    try:
        return asyncio.run(main())
    except StartupError as exc:
        print(f"regwatch: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
