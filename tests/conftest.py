"""Session fixtures: real RabbitMQ (own vhost), real MongoDB wire server (own database),
a real SMTP sink, and the services running in this process against them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from services.intake import app as intake_app
from services.validator import app as validator_app
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from tests import servers
from tests.support import own_database


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[dict[str, str]]:
    with servers.rabbitmq_vhost() as vhost:
        yield vhost


@pytest.fixture(scope="session")
def mongodb_url() -> Iterator[str]:
    with servers.mongodb_server() as url:
        yield url


@pytest.fixture(scope="session")
def smtp() -> Iterator[dict[str, Any]]:
    with servers.smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="session")
def settings(rabbitmq: dict[str, str], mongodb_url: str, smtp: dict[str, Any]) -> Settings:
    """Settings pointing every service at this session's own servers and database."""
    return Settings(
        amqp_url=rabbitmq["amqp_url"],
        rabbitmq_management_url=rabbitmq["management_url"],
        mongodb_url=mongodb_url,
        mongodb_db=f"regwatch_test_{uuid.uuid4().hex[:8]}",
        smtp_host=smtp["host"],
        smtp_port=smtp["port"],
        outbox_poll_seconds=0.2,
        delivery_limit=3,
        webhook_allow_loopback=True,  # receivers in the tests listen on 127.0.0.1
        REGWATCH_OPS_TOKEN="test-ops-token",
        # The reader has its own tests (tests/integration/test_reader.py); elsewhere the
        # validator checks metadata only and never waits for document facts.
        reader_enabled=False,
    )


@pytest.fixture(scope="module")
def reading_settings(settings: Settings) -> Iterator[Settings]:
    """The reader on, in a vhost of its own (the other tests run without it)."""
    with servers.reading_settings(settings) as on:
        yield on


@pytest_asyncio.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[AsyncDatabase]:
    async with own_database(settings) as database:
        yield database


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def services(settings: Settings, db: AsyncDatabase) -> AsyncIterator[list[ServiceContext]]:
    """Intake and validator running in this process against the session's servers."""
    contexts = [await intake_app.start(settings), await validator_app.start(settings)]
    yield contexts
    for ctx in contexts:
        await ctx.close()
