"""Composition root of the ops dashboard: MongoDB, the live feed, the DLQ desk, the web app."""

from __future__ import annotations

import logging
from urllib.parse import quote

import aio_pika
import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from services.dashboard import api, pages, stream, webhooks
from services.dashboard.auth import (
    SESSION_HOURS,
    SESSIONS,
    LoginRequired,
    current_actor,
    require_ops_page,
    session_secret,
)
from services.dashboard.context import STATIC_DIR, Dashboard, templates
from services.dashboard.feed import LiveFeed
from services.dashboard.security import (
    CsrfGuard,
    SecurityHeaders,
    csrf_token,
    secure_cookie,
)
from shared.app.dead_letters import DeadLetterDesk
from shared.infra.metrics import instrument_http
from shared.infra.runtime import open_context
from shared.infra.serving import Server, listen, serve_until_cancelled
from shared.infra.settings import Settings

SERVICE = "dashboard"
log = logging.getLogger("regwatch.dashboard")


async def start(settings: Settings) -> Dashboard:
    """Connect, bind this replica's feed queue and open the dead-letter desk."""
    ctx = await open_context(SERVICE, settings)
    connection = await aio_pika.connect_robust(settings.amqp_url)
    feed = LiveFeed()
    await feed.start(connection)
    # Sessions vanish from the collection once expired (logout deletes them at once).
    await ctx.db[SESSIONS].create_index("expires_at", expireAfterSeconds=0)
    return Dashboard(ctx, connection, feed, DeadLetterDesk(connection, ctx.db, ctx.clock))


def create_app(board: Dashboard) -> FastAPI:
    settings = board.ctx.settings
    open_docs = settings.dashboard_docs == "open"
    app = FastAPI(
        title="regwatch ops dashboard",
        version="1",
        description="What flows through regwatch, live; JSON twins of every page under /api.",
        docs_url="/docs" if open_docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if open_docs else None,
    )
    app.state.dashboard = board
    app.state.csrf_secret = session_secret(settings)
    templates.env.globals["csrf_token"] = csrf_token
    # Outermost last: headers on every answer, then the session, then the CSRF check.
    app.add_middleware(CsrfGuard)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie="regwatch_ops",
        max_age=SESSION_HOURS * 3600,
        same_site="lax",  # a second line behind the CSRF tokens
        https_only=secure_cookie(settings),
    )
    app.add_middleware(SecurityHeaders)

    async def is_ops(request: Request) -> bool:
        return await current_actor(request) is not None

    instrument_http(app, board.ctx.service, access=settings.metrics_access, is_ops=is_ops)
    if settings.dashboard_docs == "login":
        _docs_behind_login(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    routers = (api.health, api.router, stream.router, pages.router, webhooks.api, webhooks.pages)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _: LoginRequired) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    return app


def _docs_behind_login(app: FastAPI) -> None:
    """The API description for ops only: it maps every action the dashboard offers."""

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(_: str = Depends(require_ops_page)) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def docs(_: str = Depends(require_ops_page)) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} - docs")


def server(board: Dashboard, port: int | None = None) -> uvicorn.Server:
    settings = board.ctx.settings
    config = uvicorn.Config(
        create_app(board),
        host=settings.http_host,
        port=settings.dashboard_port if port is None else port,
        log_config=None,
        # h11 bounds a request's headers (16 KiB), refusing more with 400; httptools does not.
        http="h11",
        timeout_graceful_shutdown=3,  # open SSE streams must not hold a shutdown forever
    )
    return Server(config)


async def main(settings: Settings) -> None:
    sock = listen(settings.http_host, settings.dashboard_port, "DASHBOARD_PORT")
    board = await start(settings)
    web = server(board)
    log.info("ready: dashboard on http://%s:%d", settings.http_host, settings.dashboard_port)
    try:  # open SSE streams are closed by uvicorn itself (timeout_graceful_shutdown)
        await serve_until_cancelled(web, sock)
    finally:
        await board.close()
