"""The fault suite runs on servers of its own (a RabbitMQ node, a MongoDB wire server, an
SMTP sink) so it can stop and restart them without disturbing anything else."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from shared.infra.settings import Settings
from tests.faults.rabbit_node import RabbitNode
from tests.faults.servers import MongoNode
from tests.support import own_database


@pytest.fixture(scope="session")
def rabbit_node() -> Iterator[RabbitNode]:
    node = RabbitNode()
    node.start()
    yield node
    node.shutdown()


@pytest.fixture(scope="session")
def mongo_node() -> Iterator[MongoNode]:
    node = MongoNode()
    node.start()
    yield node
    node.destroy()


@pytest.fixture
def fault_settings(
    rabbit_node: RabbitNode, mongo_node: MongoNode, smtp: dict[str, Any]
) -> Settings:
    """Fresh database per test; a short outbox lease so a dead relay's entries come back fast."""
    return Settings(
        amqp_url=rabbit_node.amqp_url,
        rabbitmq_management_url=rabbit_node.management_url,
        mongodb_url=mongo_node.url,
        mongodb_db=f"regwatch_fault_{uuid.uuid4().hex[:8]}",
        smtp_host=smtp["host"],
        smtp_port=smtp["port"],
        outbox_poll_seconds=0.5,
        outbox_lease_seconds=3,
        delivery_limit=3,
        REGWATCH_OPS_TOKEN="fault-ops-token",
    )


@pytest_asyncio.fixture
async def fault_db(fault_settings: Settings) -> AsyncIterator[AsyncDatabase]:
    async with own_database(fault_settings) as database:
        yield database


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """``make test-faults`` ends with the table of scenarios, faults and duplicates."""
    from tests.faults.report import ROWS, table

    if ROWS:
        terminalreporter.section("fault scenarios")
        lines = table(ROWS)
        for line in lines:
            terminalreporter.write_line(line)
        # Also on disk: a session that ends badly must not take the figures with it.
        saved = Path(".run/fault-scenarios.txt")
        saved.parent.mkdir(exist_ok=True)
        saved.write_text("\n".join(lines) + "\n")
        terminalreporter.write_line(f"(table saved in {saved})")
