"""``regwatch calendar``: exporter contacts' secret calendar links, shown or revoked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

from services.cli.database import run_with_db
from shared.app.calendar_links import calendar_path, calendar_token, revoke_calendar_token
from shared.domain.clock import clock_from
from shared.infra.mongo_types import Database
from shared.infra.settings import Settings

app = typer.Typer(help="Exporter contacts' calendar links (iCalendar feeds).", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _run(work: Callable[[Database, Settings], Awaitable[T]]) -> T:
    return run_with_db(work, refusals=(), console=console)


@app.command("link")
def link(email: str = typer.Argument(..., help="The contact's email address.")) -> None:
    """The contact's calendar link (made now if it has none; every email carries it)."""

    async def work(database: Database, settings: Settings) -> str:
        now = clock_from(settings.regwatch_now).now()
        token = await calendar_token(database, email, now)
        return settings.public_base_url.rstrip("/") + calendar_path(token)

    print(_run(work))


@app.command("revoke")
def revoke(email: str = typer.Argument(..., help="The contact's email address.")) -> None:
    """Revoke the contact's link: it answers 404 from now on; the next email has a new one."""

    async def work(database: Database, _: Settings) -> bool:
        return await revoke_calendar_token(database, email)

    if not _run(work):
        console.print(f"[red]error:[/red] {email} has no calendar link.")
        raise typer.Exit(1)
    console.print(f"The calendar link of {email} is revoked.")
