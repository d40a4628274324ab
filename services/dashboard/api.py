"""The JSON API behind every dashboard view (``/api/...``), for scripts and the pages."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel

from services.dashboard import charts
from services.dashboard.auth import require_ops_api
from services.dashboard.context import Dashboard, dashboard
from services.dashboard.payload import PayloadPreview, describe_payload
from services.dashboard.webhooks import webhook_alarms
from shared.app import deadline_calendar, search
from shared.app import ops_views as queries
from shared.app import registration_views as registrations
from shared.app.dead_letters import (
    DeadLetter,
    DeadLetterAction,
    DeadLetterNotFound,
    HeaderLine,
    ReplayRefused,
    readable_headers,
    recent_actions,
)
from shared.app.event_lines import EventLine
from shared.app.ops_views import OpsOverview
from shared.domain.calendar import authority_date
from shared.infra.queue_report import QueueReport, queue_report

router = APIRouter(prefix="/api", tags=["ops"])
health = APIRouter()


async def ops_overview(board: Dashboard) -> OpsOverview:
    ctx = board.ctx
    queues = await queue_report(ctx.settings, board.connection)
    queues.alarms.extend(await webhook_alarms(board))  # a partner no longer hears from us
    return OpsOverview(
        overview=await queries.overview(db=ctx.db, now=ctx.clock.now()),
        queues=queues,
    )


@health.get("/healthz", tags=["ops"])
async def healthz(board: Dashboard = Depends(dashboard)) -> dict[str, str]:
    await board.ctx.db.command("ping")
    if board.connection.is_closed:
        raise HTTPException(status_code=503, detail="RabbitMQ connection is closed")
    return {"status": "ok", "service": "regwatch-dashboard"}


@router.get("/overview")
async def api_overview(
    board: Dashboard = Depends(dashboard), _: str = Depends(require_ops_api)
) -> OpsOverview:
    return await ops_overview(board)


@router.get("/queues")
async def api_queues(
    board: Dashboard = Depends(dashboard), _: str = Depends(require_ops_api)
) -> QueueReport:
    return await queue_report(board.ctx.settings, board.connection)


@router.get("/events")
async def api_events(
    type: str | None = None,
    application: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    board: Dashboard = Depends(dashboard),
    _: str = Depends(require_ops_api),
) -> list[EventLine]:
    return await queries.recent_events(
        db=board.ctx.db, event_type=type, application_id=application, limit=limit
    )


@router.get("/applications")
async def api_applications(
    status: str | None = None,
    category: str | None = None,
    partner: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    board: Dashboard = Depends(dashboard),
    _: str = Depends(require_ops_api),
) -> list[queries.ApplicationSummary]:
    return await queries.list_applications(
        db=board.ctx.db, status=status, category=category, partner_id=partner, limit=limit
    )


@router.get("/deadlines")
async def api_deadlines(
    month: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    board: Dashboard = Depends(dashboard),
    _: str = Depends(require_ops_api),
) -> deadline_calendar.DeadlineMonth:
    """The deadlines whose last day (Beijing) falls in ``month`` (YYYY-MM; default: now)."""
    now = board.ctx.clock.now()
    try:
        first = deadline_calendar.parse_month(month, authority_date(now))
    except deadline_calendar.UnknownMonth as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    return await deadline_calendar.deadline_month(
        db=board.ctx.db, now=now, month=first, status=status, kind=kind
    )


@router.get("/search")
async def api_search(
    q: str = "", board: Dashboard = Depends(dashboard), _: str = Depends(require_ops_api)
) -> search.SearchResults:
    """Applications, registrations, documents and partners that ``q`` names, by kind."""
    return await search.search(db=board.ctx.db, query=q)


@router.get("/applications/{application_id}")
async def api_application(
    application_id: str, board: Dashboard = Depends(dashboard), _: str = Depends(require_ops_api)
) -> queries.ApplicationDetail:
    try:
        return await queries.application_detail(db=board.ctx.db, application_id=application_id)
    except queries.ApplicationNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


@router.get("/registrations")
async def api_registrations(
    status: str | None = None,
    within_days: int | None = Query(default=None, ge=0, le=3660),
    offset: int = Query(default=0, ge=0),
    limit: int = Query(default=registrations.DEFAULT_PAGE_SIZE, ge=1, le=500),
    board: Dashboard = Depends(dashboard),
    _: str = Depends(require_ops_api),
) -> registrations.RegistrationPage:
    try:
        return await registrations.list_registrations(
            db=board.ctx.db,
            now=board.ctx.clock.now(),
            status=status or None,
            within_days=within_days,
            offset=offset,
            limit=limit,
        )
    except registrations.UnknownRegistrationStatus as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None


@router.get("/registrations/{number}")
async def api_registration(
    number: str, board: Dashboard = Depends(dashboard), _: str = Depends(require_ops_api)
) -> registrations.RegistrationDetail:
    try:
        return await registrations.registration_detail(db=board.ctx.db, number=number)
    except registrations.RegistrationNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


@router.get("/dead-letters")
async def api_dead_letters(
    board: Dashboard = Depends(dashboard), _: str = Depends(require_ops_api)
) -> list[DeadLetter]:
    return await board.desk.letters()


@router.get("/dead-letters/actions")
async def api_dead_letter_actions(
    board: Dashboard = Depends(dashboard), _: str = Depends(require_ops_api)
) -> list[DeadLetterAction]:
    return await recent_actions(db=board.ctx.db)


async def act(
    board: Dashboard, action: str, ids: list[str] | None, actor: str
) -> list[DeadLetterAction]:
    """Replay or discard; a vanished letter is a 404, a refused republish a 409."""
    operation = board.desk.replay if action == "replay" else board.desk.discard
    try:
        return await operation(ids=ids, actor=actor)
    except DeadLetterNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except ReplayRefused as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None


class DeadLetterDetail(BaseModel):
    letter: DeadLetter
    headers: list[HeaderLine]
    payload: PayloadPreview


@router.get("/dead-letters/{dead_letter_id}")
async def api_dead_letter(
    dead_letter_id: str, board: Dashboard = Depends(dashboard), _: str = Depends(require_ops_api)
) -> DeadLetterDetail:
    try:
        letter, body = await board.desk.letter(dead_letter_id)
    except DeadLetterNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return DeadLetterDetail(
        letter=letter,
        headers=readable_headers(letter.headers),
        payload=await asyncio.to_thread(describe_payload, body, letter.content_type),
    )


@router.post("/dead-letters/replay-all")
async def api_replay_all(
    board: Dashboard = Depends(dashboard), actor: str = Depends(require_ops_api)
) -> list[DeadLetterAction]:
    return await act(board, "replay", None, actor)


@router.post("/dead-letters/discard-all")
async def api_discard_all(
    board: Dashboard = Depends(dashboard), actor: str = Depends(require_ops_api)
) -> list[DeadLetterAction]:
    return await act(board, "discard", None, actor)


@router.post("/dead-letters/{dead_letter_id}/{action}")
async def api_dead_letter_action(
    dead_letter_id: str,
    action: str,
    board: Dashboard = Depends(dashboard),
    actor: str = Depends(require_ops_api),
) -> list[DeadLetterAction]:
    if action not in ("replay", "discard"):
        raise HTTPException(status_code=404, detail="Use .../replay or .../discard.")
    return await act(board, action, [dead_letter_id], actor)


@router.get("/charts/events-per-minute")
async def api_events_per_minute(
    board: Dashboard = Depends(dashboard), _: str = Depends(require_ops_api)
) -> charts.Series:
    return await charts.events_per_minute(db=board.ctx.db, now=board.ctx.clock.now())


@router.get("/charts/deadlines-per-week")
async def api_deadlines_per_week(
    board: Dashboard = Depends(dashboard), _: str = Depends(require_ops_api)
) -> charts.Series:
    return await charts.deadlines_per_week(db=board.ctx.db, now=board.ctx.clock.now())
