"""One way for a CLI command to work on the database: connect, ensure indexes, close."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

from shared.infra import db as mongo
from shared.infra.mongo_types import Database
from shared.infra.settings import Settings

T = TypeVar("T")


def run_with_db(
    work: Callable[[Database, Settings], Awaitable[T]],
    *,
    refusals: tuple[type[Exception], ...],
    console: Console,
) -> T:
    """Run ``work`` on the configured database; a refusal prints its message and exits 1.
    The settings are read from the environment as the command starts (not the cached ones:
    commands run in one process, as the tests do, may each have their own)."""
    settings = Settings()

    async def with_db() -> T:
        client = mongo.connect(settings)
        try:
            database = mongo.database(client, settings)
            await mongo.ensure_indexes(database)
            return await work(database, settings)
        finally:
            await client.close()

    try:
        return asyncio.run(with_db())
    except refusals as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
