"""Server-sent events: the live feed as HTML fragments (htmx) and as JSON (scripts)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter, Depends, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from services.dashboard.auth import require_ops_api
from services.dashboard.context import Dashboard, dashboard, templates
from shared.app.event_lines import EventLine, matches

router = APIRouter(include_in_schema=False)
PING_SECONDS = 15


async def _lines(
    request: Request,
    board: Dashboard,
    event_type: str | None,
    application_id: str | None,
    render: Callable[[EventLine], str],
) -> AsyncIterator[ServerSentEvent]:
    async with board.feed.subscribe() as buffer:
        # Tell the browser at once that it is connected (tests and humans both wait on it).
        yield ServerSentEvent(event="ready", data="connected")
        while not await request.is_disconnected():
            try:
                line = await asyncio.wait_for(buffer.get(), timeout=1.0)
            except TimeoutError:
                continue
            if matches(line, event_type=event_type, application_id=application_id):
                yield ServerSentEvent(event="event", id=line.id, data=render(line))


def _html(line: EventLine) -> str:
    fragment = templates.get_template("_event.html").render(e=line)
    return " ".join(fragment.split("\n"))  # one SSE data line per event


@router.get("/events/stream")
async def html_stream(
    request: Request,
    type: str | None = None,
    application: str | None = None,
    board: Dashboard = Depends(dashboard),
    _: str = Depends(require_ops_api),
) -> EventSourceResponse:
    lines = _lines(request, board, type or None, application or None, _html)
    return EventSourceResponse(lines, ping=PING_SECONDS)


@router.get("/api/events/stream")
async def json_stream(
    request: Request,
    type: str | None = None,
    application: str | None = None,
    board: Dashboard = Depends(dashboard),
    _: str = Depends(require_ops_api),
) -> EventSourceResponse:
    lines = _lines(request, board, type or None, application or None, lambda e: e.model_dump_json())
    return EventSourceResponse(lines, ping=PING_SECONDS)
