"""What every dashboard route works with: the service context, the feed, the DLQ desk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aio_pika.abc import AbstractRobustConnection
from fastapi import Request
from fastapi.templating import Jinja2Templates

from services.dashboard.feed import LiveFeed
from shared.app.dead_letters import DeadLetterDesk
from shared.app.registration_views import beijing_time, reminder_text
from shared.infra.runtime import ServiceContext

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"


@dataclass
class Dashboard:
    ctx: ServiceContext
    connection: AbstractRobustConnection  # the feed's and the dead-letter desk's
    feed: LiveFeed
    desk: DeadLetterDesk

    async def close(self) -> None:
        await self.connection.close()
        await self.ctx.close()


def dashboard(request: Request) -> Dashboard:
    state: Dashboard = request.app.state.dashboard
    return state


def _timestamp(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("T", " ")[:19]
    return value.strftime("%Y-%m-%d %H:%M:%S")


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["ts"] = _timestamp
templates.env.filters["beijing"] = beijing_time
templates.env.filters["reminder"] = reminder_text
