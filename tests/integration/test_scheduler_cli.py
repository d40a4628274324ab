"""``regwatch deadlines``: the open deadlines closing soon, from the real database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from services.cli import deadlines as deadlines_cli
from services.cli.main import app
from shared.domain.deadlines import Deadline
from shared.domain.models import new_id
from shared.infra import db as mongo
from shared.infra.deadline_store import close_deadline, open_deadline
from shared.infra.settings import Settings

runner = CliRunner()


def test_deadlines_lists_open_windows_due_within_the_span_nearest_first(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = settings.model_copy(update={"mongodb_db": f"regwatch_cli_{uuid.uuid4().hex[:8]}"})
    now = deadlines_cli.clock_from(None).now()
    tag = uuid.uuid4().hex[:6]

    def window(days: int, subject: str) -> Deadline:
        return Deadline(
            _id=new_id("dl"),
            kind="rectification",
            subject=f"{subject}-{tag}",
            due_at=now + timedelta(days=days),
            opened_at=now,
            reminder_offsets_days=[14, 7, 3, 1],
            exporter_name="Nordic Scrap AB",
        )

    soon, later, far, closed = (
        window(5, "soon"),
        window(20, "later"),
        window(90, "far"),
        window(3, "closed"),
    )

    async def prepare() -> None:
        client = mongo.connect(own)
        database = mongo.database(client, own)
        for deadline in (later, far, soon, closed):
            await open_deadline(database, deadline)
        await close_deadline(database, closed.id, "rectified", now)
        await client.close()

    async def drop() -> None:
        client = mongo.connect(own)
        await client.drop_database(own.mongodb_db)
        await client.close()

    asyncio.run(prepare())
    monkeypatch.setattr(deadlines_cli, "get_settings", lambda: own)
    try:
        result = runner.invoke(app, ["deadlines", "--within", "30d"], env={"COLUMNS": "200"})
        narrow = runner.invoke(app, ["deadlines", "--within", "2d"], env={"COLUMNS": "200"})
        wrong = runner.invoke(app, ["deadlines", "--within", "soon"])
    finally:
        asyncio.run(drop())

    assert result.exit_code == 0, result.output
    assert "2 deadline(s) due within 30d" in result.output
    assert result.output.index(f"soon-{tag}") < result.output.index(f"later-{tag}")
    assert f"far-{tag}" not in result.output
    assert f"closed-{tag}" not in result.output
    assert "Nordic Scrap AB" in result.output
    assert "T-14d on" in result.output
    assert "No open deadline within 2d." in narrow.output
    assert wrong.exit_code == 2
    assert "not a duration" in wrong.output
