"""Composition root of the ops dashboard: MongoDB, the live feed, the DLQ desk, the web app."""

from __future__ import annotations

import logging
from urllib.parse import quote

import aio_pika
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from services.dashboard import api, pages, stream
from services.dashboard.auth import LoginRequired, session_secret
from services.dashboard.context import STATIC_DIR, Dashboard
from services.dashboard.dead_letters import DeadLetterDesk
from services.dashboard.feed import LiveFeed
from shared.infra.metrics import instrument_http
from shared.infra.runtime import open_context
from shared.infra.serving import Server, serve_until_cancelled
from shared.infra.settings import Settings

SERVICE = "dashboard"
SESSION_HOURS = 12
log = logging.getLogger("regwatch.dashboard")


async def start(settings: Settings) -> Dashboard:
    """Connect, bind this replica's feed queue and open the dead-letter desk."""
    ctx = await open_context(SERVICE, settings)
    connection = await aio_pika.connect_robust(settings.amqp_url)
    feed = LiveFeed()
    await feed.start(connection)
    return Dashboard(ctx, connection, feed, DeadLetterDesk(connection, ctx.db, ctx.clock))


def create_app(board: Dashboard) -> FastAPI:
    settings = board.ctx.settings
    app = FastAPI(
        title="regwatch ops dashboard",
        version="1",
        description="What flows through regwatch, live; JSON twins of every page under /api.",
    )
    app.state.dashboard = board
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie="regwatch_ops",
        max_age=SESSION_HOURS * 3600,
        same_site="lax",  # no cross-site POSTs: the replay and discard forms are safe
        https_only=settings.dashboard_secure_cookie,
    )
    instrument_http(app, board.ctx.service)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (api.health, api.router, stream.router, pages.router):
        app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _: LoginRequired) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    return app


def server(board: Dashboard, port: int | None = None) -> uvicorn.Server:
    settings = board.ctx.settings
    config = uvicorn.Config(
        create_app(board),
        host=settings.http_host,
        port=settings.dashboard_port if port is None else port,
        log_config=None,
        timeout_graceful_shutdown=3,  # open SSE streams must not hold a shutdown forever
    )
    return Server(config)


async def main(settings: Settings) -> None:
    board = await start(settings)
    web = server(board)
    log.info("ready: dashboard on http://%s:%d", settings.http_host, settings.dashboard_port)
    try:  # open SSE streams are closed by uvicorn itself (timeout_graceful_shutdown)
        await serve_until_cancelled(web)
    finally:
        await board.close()
