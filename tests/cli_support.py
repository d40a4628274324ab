"""Running the ``regwatch`` CLI in a test: in a thread (its own event loop, while the
services run on the test's), with the session's servers in its environment."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from click.testing import Result
from typer.testing import CliRunner

from services.cli.main import app as cli
from shared.infra.settings import Settings


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    """What an ops shell pointed at these servers has in its environment."""
    return {
        "AMQP_URL": settings.amqp_url,
        "MONGODB_URL": settings.mongodb_url,
        "MONGODB_DB": settings.mongodb_db,
        "RABBITMQ_MANAGEMENT_URL": settings.rabbitmq_management_url,
        "COLUMNS": "200",
        **extra,
    }


async def regwatch(
    settings: Settings, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> Result:
    """``regwatch *args`` against ``settings``' servers; ``env`` adds to the environment."""
    return await asyncio.to_thread(
        CliRunner().invoke, cli, list(args), input=stdin, env=environment(settings, **(env or {}))
    )


def json_of(result: Result) -> Any:
    """The JSON a ``--json`` command printed last, once it exited 0."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])
