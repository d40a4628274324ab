"""A timeline per scenario test: its own vhost, database, contacts and ops address."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from shared.infra.settings import Settings
from tests.integration.deadline_support import isolated_settings
from tests.scenarios.timeline import Timeline


@pytest_asyncio.fixture(loop_scope="session")
async def timeline(settings: Settings, smtp: dict[str, Any]) -> AsyncIterator[Timeline]:
    tag = uuid.uuid4().hex[:8]
    with isolated_settings(settings, ops_email=f"ops-{tag}@regwatch.example") as own:
        line = Timeline(own, smtp["maildir"], tag)
        try:
            yield line
        finally:
            print("\n".join(["timeline:", *line.steps]))
            await line.close()
