"""The server-rendered pages: each renders the same data its ``/api/...`` twin returns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import get_args
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from services.dashboard import charts
from services.dashboard.api import act, ops_overview
from services.dashboard.auth import authenticate, end_session, require_ops_page, start_session
from services.dashboard.context import Dashboard, dashboard, templates
from services.dashboard.payload import describe_payload, first_page_picture
from shared.app import deadline_calendar, search
from shared.app import ops_views as queries
from shared.app import registration_views as registrations
from shared.app.dead_letters import DeadLetterNotFound, readable_headers, recent_actions
from shared.app.registrations import UnknownRegistration, decide_registration
from shared.domain.calendar import authority_date
from shared.domain.deadlines import DeadlineKind, DeadlineStatus
from shared.domain.registration import (
    REGISTRATION_STATES,
    IllegalRegistrationMove,
    RegistrationDecisionKind,
)
from shared.infra.db import blobs

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only paths of this site: an open redirect would help phishing. Browsers read a
    # backslash as a slash ("/\\evil.example" is "//evil.example") and drop tabs and newlines.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return templates.TemplateResponse(request, "login.html", {"next": next, "error": None})


@router.post("/login")
async def login(
    request: Request,
    password: str = Form(...),
    username: str = Form(default=""),
    next: str = Form(default="/"),
    board: Dashboard = Depends(dashboard),
) -> Response:
    actor = authenticate(board.ctx.settings, username=username.strip(), password=password)
    if actor is None:
        context = {"next": next, "error": "Those credentials do not open the dashboard."}
        return templates.TemplateResponse(request, "login.html", context, status_code=401)
    await start_session(request, actor)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    await end_session(request)
    return RedirectResponse("/login", status_code=303)


@router.get("/", response_class=HTMLResponse)
async def overview_page(
    request: Request, board: Dashboard = Depends(dashboard), actor: str = Depends(require_ops_page)
) -> HTMLResponse:
    data = await ops_overview(board)
    events = await queries.recent_events(db=board.ctx.db, limit=15)
    stamp = int(board.ctx.clock.now().timestamp())
    context = {"data": data, "events": events, "actor": actor, "stamp": stamp}
    return templates.TemplateResponse(request, "overview.html", context)


@router.get("/partials/charts", response_class=HTMLResponse)
async def chart_panels(
    request: Request, board: Dashboard = Depends(dashboard), _: str = Depends(require_ops_page)
) -> HTMLResponse:
    # A new query string makes the browser fetch the charts again.
    stamp = int(board.ctx.clock.now().timestamp())
    return templates.TemplateResponse(request, "_charts.html", {"stamp": stamp})


@router.get("/partials/overview", response_class=HTMLResponse)
async def overview_panels(
    request: Request, board: Dashboard = Depends(dashboard), _: str = Depends(require_ops_page)
) -> HTMLResponse:
    context = {"data": await ops_overview(board)}
    return templates.TemplateResponse(request, "_overview_panels.html", context)


@router.get("/events", response_class=HTMLResponse)
async def events_page(
    request: Request,
    type: str | None = None,
    application: str | None = None,
    board: Dashboard = Depends(dashboard),
    actor: str = Depends(require_ops_page),
) -> HTMLResponse:
    db = board.ctx.db
    event_type, application_id = type or None, application or None
    context = {
        "actor": actor,
        "events": await queries.recent_events(
            db=db, event_type=event_type, application_id=application_id
        ),
        "types": await queries.event_types(db=db),
        "type": event_type or "",
        "application": application_id or "",
        "stream_url": "/events/stream?type="
        + quote(event_type or "")
        + "&application="
        + quote(application_id or ""),
    }
    return templates.TemplateResponse(request, "events.html", context)


@router.get("/applications", response_class=HTMLResponse)
async def applications_page(
    request: Request,
    status: str | None = None,
    category: str | None = None,
    partner: str | None = None,
    board: Dashboard = Depends(dashboard),
    actor: str = Depends(require_ops_page),
) -> HTMLResponse:
    rows = await queries.list_applications(
        db=board.ctx.db,
        status=status or None,
        category=category or None,
        partner_id=partner or None,
    )
    context = {
        "actor": actor,
        "rows": rows,
        "status": status or "",
        "category": category or "",
        "partner": partner or "",
    }
    return templates.TemplateResponse(request, "applications.html", context)


@router.get("/search", response_class=HTMLResponse)
async def search_page(
    request: Request,
    q: str = "",
    board: Dashboard = Depends(dashboard),
    actor: str = Depends(require_ops_page),
) -> HTMLResponse:
    results = await search.search(db=board.ctx.db, query=q)
    context = {"actor": actor, "results": results, "q": results.query}
    return templates.TemplateResponse(request, "search.html", context)


@router.get("/applications/{application_id}", response_class=HTMLResponse)
async def application_page(
    request: Request,
    application_id: str,
    board: Dashboard = Depends(dashboard),
    actor: str = Depends(require_ops_page),
) -> HTMLResponse:
    try:
        detail = await queries.application_detail(db=board.ctx.db, application_id=application_id)
    except queries.ApplicationNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    context = {"actor": actor, "d": detail}
    return templates.TemplateResponse(request, "application.html", context)


@router.get("/applications/{application_id}/documents/{document_id}/content")
async def document_content(
    application_id: str,
    document_id: str,
    download: bool = False,
    board: Dashboard = Depends(dashboard),
    _: str = Depends(require_ops_page),
) -> StreamingResponse:
    db = board.ctx.db
    document = await queries.find_document(
        db=db, application_id=application_id, document_id=document_id
    )
    if document is None:
        raise HTTPException(status_code=404, detail=f"No document {document_id} here.")
    stream = await blobs(db).open_download_stream(document["blob_id"])

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await stream.readchunk():
            yield chunk

    # A PDF is never opened on the dashboard's origin: the browser's viewer ignores a
    # sandbox, and a polyglot could be read as something else. Images open sandboxed.
    is_pdf = document["content_type"] == "application/pdf"
    disposition = "attachment" if download or is_pdf else "inline"
    filename = quote(document["filename"])
    return StreamingResponse(
        chunks(),
        media_type=document["content_type"],
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{filename}",
            "Content-Length": str(document["size"]),
            # The bytes come from partners: never let the browser guess another type, and
            # run nothing they might carry.
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )


@router.get("/registrations", response_class=HTMLResponse)
async def registrations_page(
    request: Request,
    status: str | None = None,
    within: str | None = None,
    page: int = Query(default=1, ge=1),
    board: Dashboard = Depends(dashboard),
    actor: str = Depends(require_ops_page),
) -> HTMLResponse:
    within_days = int(within) if within and within.isdigit() else None
    size = registrations.DEFAULT_PAGE_SIZE
    error = None
    try:
        listing = await registrations.list_registrations(
            db=board.ctx.db,
            now=board.ctx.clock.now(),
            status=status or None,
            within_days=within_days,
            offset=(page - 1) * size,
            limit=size,
        )
    except registrations.UnknownRegistrationStatus as exc:
        listing, error = (
            registrations.RegistrationPage(total=0, offset=0, limit=size, rows=[]),
            str(exc),
        )
    context = {
        "actor": actor,
        "listing": listing,
        "statuses": REGISTRATION_STATES,
        "status": status or "",
        "within": "" if within_days is None else str(within_days),
        "page": page,
        "pages": max(1, -(-listing.total // size)),
        "error": error,
    }
    return templates.TemplateResponse(request, "registrations.html", context)


@router.get("/registrations/{number}", response_class=HTMLResponse)
async def registration_page(
    request: Request,
    number: str,
    done: str | None = None,
    board: Dashboard = Depends(dashboard),
    actor: str = Depends(require_ops_page),
) -> HTMLResponse:
    try:
        detail = await registrations.registration_detail(db=board.ctx.db, number=number)
    except registrations.RegistrationNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    context = {"actor": actor, "d": detail, "done": done}
    return templates.TemplateResponse(request, "registration.html", context)


@router.post("/registrations/{number}/decisions")
async def registration_decision(
    number: str,
    kind: RegistrationDecisionKind = Form(...),
    reason: str = Form(default=""),
    board: Dashboard = Depends(dashboard),
    actor: str = Depends(require_ops_page),
) -> RedirectResponse:
    """Suspend, cancel or reinstate from the registration page; the outcome is shown there."""
    try:
        stored = await decide_registration(
            board.ctx,
            number=number,
            kind=kind,
            reason=reason.strip() or None,
            actor=actor,
        )
        done = f"{kind}: the registration is now {stored.get('status')}"
    except UnknownRegistration:
        raise HTTPException(status_code=404, detail=f"There is no registration {number}.") from None
    except IllegalRegistrationMove as exc:
        done = f"{kind} refused: {exc}"
    return RedirectResponse(
        f"/registrations/{quote(number, safe='')}?done={quote(done)}", status_code=303
    )


async def _deadline_month(
    board: Dashboard, month: str | None, status: str | None, kind: str | None
) -> tuple[deadline_calendar.DeadlineMonth, str | None]:
    now = board.ctx.clock.now()
    error = None
    try:
        first = deadline_calendar.parse_month(month, authority_date(now))
    except deadline_calendar.UnknownMonth as exc:
        first, error = authority_date(now).replace(day=1), str(exc)
    shown = await deadline_calendar.deadline_month(
        db=board.ctx.db, now=now, month=first, status=status or None, kind=kind or None
    )
    return shown, error


@router.get("/deadlines", response_class=HTMLResponse)
async def deadlines_page(
    request: Request,
    month: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    board: Dashboard = Depends(dashboard),
    actor: str = Depends(require_ops_page),
) -> HTMLResponse:
    """A month of deadlines on the authority's days, as a calendar and a list beside it."""
    shown, error = await _deadline_month(board, month, status, kind)
    filters = {"month": shown.month.strftime("%Y-%m"), "status": status or "", "kind": kind or ""}
    context = {
        "actor": actor,
        "m": shown,
        "error": error,
        "filters": filters,
        "query": urlencode(filters),
        "statuses": get_args(DeadlineStatus),
        "kinds": get_args(DeadlineKind),
    }
    return templates.TemplateResponse(request, "deadlines.html", context)


@router.get("/deadlines.csv")
async def deadlines_csv(
    month: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    board: Dashboard = Depends(dashboard),
    _: str = Depends(require_ops_page),
) -> Response:
    """The deadlines the calendar shows for the same month and filters, as CSV."""
    shown, error = await _deadline_month(board, month, status, kind)
    if error:
        raise HTTPException(status_code=400, detail=error)
    name = f"regwatch-deadlines-{shown.month.strftime('%Y-%m')}.csv"
    return Response(
        deadline_calendar.month_csv(shown),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/dead-letters", response_class=HTMLResponse)
async def dead_letters_page(
    request: Request,
    done: str | None = None,
    board: Dashboard = Depends(dashboard),
    actor: str = Depends(require_ops_page),
) -> HTMLResponse:
    context = {
        "actor": actor,
        "letters": await board.desk.letters(),
        "actions": await recent_actions(db=board.ctx.db, limit=20),
        "done": done,
    }
    return templates.TemplateResponse(request, "dead_letters.html", context)


@router.get("/dead-letters/{dead_letter_id}", response_class=HTMLResponse)
async def dead_letter_page(
    request: Request,
    dead_letter_id: str,
    board: Dashboard = Depends(dashboard),
    actor: str = Depends(require_ops_page),
) -> HTMLResponse:
    """One dead letter: the error, where it came from, its headers and its payload."""
    try:
        letter, body = await board.desk.letter(dead_letter_id)
    except DeadLetterNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    context = {
        "actor": actor,
        "l": letter,
        "headers": readable_headers(letter.headers),
        "payload": await asyncio.to_thread(describe_payload, body, letter.content_type),
    }
    return templates.TemplateResponse(request, "dead_letter.html", context)


@router.get("/dead-letters/{dead_letter_id}/picture.png")
async def dead_letter_picture(
    dead_letter_id: str, board: Dashboard = Depends(dashboard), _: str = Depends(require_ops_page)
) -> Response:
    """The payload's picture (a PDF's first page image), re-encoded as PNG by Pillow."""
    try:
        _letter, body = await board.desk.letter(dead_letter_id)
    except DeadLetterNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    picture = await asyncio.to_thread(first_page_picture, body)
    if picture is None:
        raise HTTPException(status_code=404, detail="The payload shows no picture.")
    return Response(
        picture,
        media_type="image/png",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
    )


@router.post("/dead-letters/{target}/{action}")
async def dead_letter_action(
    target: str,
    action: str,
    board: Dashboard = Depends(dashboard),
    actor: str = Depends(require_ops_page),
) -> RedirectResponse:
    """``target`` is a dead-letter id or ``all``; ``action`` is replay or discard."""
    if action not in ("replay", "discard"):
        raise HTTPException(status_code=404, detail="Use .../replay or .../discard.")
    try:
        records = await act(board, action, None if target == "all" else [target], actor)
        done = f"{action}: {len(records)} message(s)"
    except HTTPException as exc:
        done = f"{action} failed: {exc.detail}"
    return RedirectResponse(f"/dead-letters?done={quote(done)}", status_code=303)


@router.get("/charts/{name}.svg")
async def chart(
    name: str, board: Dashboard = Depends(dashboard), _: str = Depends(require_ops_page)
) -> Response:
    db, now = board.ctx.db, board.ctx.clock.now()
    if name == "events-per-minute":
        series = await charts.events_per_minute(db=db, now=now)
    elif name == "deadlines-per-week":
        series = await charts.deadlines_per_week(db=db, now=now)
    else:
        raise HTTPException(status_code=404, detail=f"No chart {name}.")
    return Response(
        charts.render_svg(series),
        media_type="image/svg+xml",
        headers={"Cache-Control": "no-store"},
    )
