"""``regwatch deadlines [--within 30d]``: the open deadlines closing soon, nearest first."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from shared.app.reminder_subjects import reminder_subject
from shared.domain.clock import clock_from
from shared.domain.deadlines import Deadline, days_left
from shared.infra import db as mongo
from shared.infra.mongo_types import Database
from shared.infra.settings import get_settings

app = typer.Typer(help="Deadlines the scheduler watches.", invoke_without_command=True)
console = Console()
UNITS = {"h": "hours", "d": "days", "w": "weeks"}


class DueDeadline(BaseModel):
    """One row of the listing."""

    deadline: Deadline
    days_left: int
    exporter_name: str | None
    contacts: list[str]
    next_reminder: str | None


def parse_within(text: str) -> timedelta:
    """``30d``, ``12w`` or ``48h`` as a duration."""
    match = re.fullmatch(r"\s*(\d+)\s*([hdw])\s*", text.lower())
    if match is None:
        raise typer.BadParameter(f"{text!r} is not a duration like 30d, 12w or 48h")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


async def due_deadlines(
    db: Database, *, now: datetime, within: timedelta, include_missed: bool = False
) -> list[DueDeadline]:
    """Open (and optionally missed) deadlines due by ``now + within``, through (status, due_at)."""
    statuses = ["open", "missed"] if include_missed else ["open"]
    cursor = (
        db["deadlines"]
        .find({"status": {"$in": statuses}, "due_at": {"$lte": now + within}})
        .sort("due_at", 1)
    )
    rows: list[DueDeadline] = []
    async for found in cursor:
        deadline = Deadline.model_validate(found)
        subject = await reminder_subject(db, deadline)
        upcoming: dict[str, Any] | None = await db["reminders"].find_one(
            {"deadline_id": deadline.id, "status": "pending"}, sort=[("fire_at", 1)]
        )
        rows.append(
            DueDeadline(
                deadline=deadline,
                days_left=days_left(deadline.due_at, now),
                exporter_name=subject.exporter_name,
                contacts=subject.contact_emails,
                next_reminder=(
                    f"{upcoming['point']} on {upcoming['fire_at']:%Y-%m-%d %H:%M}"
                    if upcoming
                    else None
                ),
            )
        )
    return rows


def table(rows: list[DueDeadline], title: str) -> Table:
    view = Table(title=title)
    for column in ("Due", "Days left", "Window", "Subject", "Exporter", "Status", "Next reminder"):
        view.add_column(column)
    for row in rows:
        d = row.deadline
        view.add_row(
            f"{d.due_at:%Y-%m-%d}",
            str(row.days_left),
            d.kind.replace("_", " "),
            d.subject,
            row.exporter_name or "-",
            d.status,
            row.next_reminder or "-",
        )
    return view


@app.callback()
def deadlines(
    context: typer.Context,
    within: str = typer.Option("30d", "--within", help="How far ahead: 30d, 12w or 48h."),
    include_missed: bool = typer.Option(False, "--missed", help="Also list missed windows."),
) -> None:
    """List the deadlines due within the given time, nearest first."""
    if context.invoked_subcommand is not None:
        return
    span = parse_within(within)
    settings = get_settings()

    async def load() -> list[DueDeadline]:
        client = mongo.connect(settings)
        try:
            database = mongo.database(client, settings)
            now = clock_from(settings.regwatch_now).now()
            return await due_deadlines(
                database, now=now, within=span, include_missed=include_missed
            )
        finally:
            await client.close()

    rows = asyncio.run(load())
    if not rows:
        console.print(f"No open deadline within {within}.")
        return
    console.print(table(rows, f"{len(rows)} deadline(s) due within {within}"))
