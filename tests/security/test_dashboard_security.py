"""The ops dashboard as a security reviewer reads it: CSRF tokens on every state change,
sessions that end when logged out or when the user is removed, a Secure cookie off
loopback, no open redirect, partner files never opened on the dashboard's origin, security
headers on every answer, and /docs, /openapi.json and /metrics for ops only."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from services.dashboard.app import create_app
from services.dashboard.auth import hash_password
from services.dashboard.context import Dashboard
from services.dashboard.pages import _safe_next
from services.dashboard.security import secure_cookie
from shared.infra.settings import Settings
from tests.dashboard_support import dashboard_server

ASYNC = pytest.mark.asyncio(loop_scope="session")  # sync tests here carry no asyncio mark
PASSWORD = "s3cret-yard-plan"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def board(settings: Settings) -> AsyncIterator[Dashboard]:
    users = f"mei:{hash_password(PASSWORD)}"
    with_users = settings.model_copy(update={"dashboard_users": users})
    async with dashboard_server(with_users) as (running, _):
        yield running


def client_of(board: Dashboard, **changes: object) -> httpx.AsyncClient:
    """A browser-like client of the dashboard app, optionally with changed settings."""
    settings = board.ctx.settings.model_copy(update=changes)
    app = create_app(
        dataclasses.replace(board, ctx=dataclasses.replace(board.ctx, settings=settings))
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dash")


async def log_in(client: httpx.AsyncClient, username: str = "mei") -> str:
    """Logs in as a browser does (from the form); returns the CSRF token the pages carry."""
    form = TOKEN_FIELD.search((await client.get("/login")).text)  # a token once logged in
    data = {"username": username, "password": PASSWORD}
    response = await client.post(
        "/login", data={**data, "csrf_token": form.group(1) if form else ""}
    )
    assert response.status_code == 303, response.text
    page = await client.get("/dead-letters")
    assert page.status_code == 200
    match = TOKEN_FIELD.search(page.text)
    assert match, "every form carries the session's CSRF token"
    return match.group(1)


@ASYNC
async def test_a_state_change_without_the_sessions_csrf_token_is_refused(board: Dashboard) -> None:
    async with client_of(board) as client:
        token = await log_in(client)
        # What a page of another site could send with the ambient cookie: no token.
        forged = await client.post("/dead-letters/all/replay")
        assert forged.status_code == 403
        wrong = await client.post("/dead-letters/all/replay", data={"csrf_token": "0" * 64})
        assert wrong.status_code == 403
        via_api = await client.post("/api/dead-letters/replay-all")
        assert via_api.status_code == 403
        allowed = await client.post("/dead-letters/all/replay", data={"csrf_token": token})
        assert allowed.status_code == 303
        assert allowed.headers["location"].startswith("/dead-letters")
        htmx = await client.post("/api/dead-letters/replay-all", headers={"X-CSRF-Token": token})
        assert htmx.status_code == 200


@ASYNC
async def test_a_request_from_another_origin_is_refused_even_at_login(board: Dashboard) -> None:
    async with client_of(board) as client:
        response = await client.post(
            "/login",
            data={"username": "mei", "password": PASSWORD},
            headers={"Origin": "https://evil.example"},
        )
        assert response.status_code == 403
        assert "regwatch_ops" not in client.cookies


@ASYNC
async def test_scripts_with_the_ops_token_need_no_csrf_token(
    board: Dashboard, settings: Settings
) -> None:
    async with client_of(board) as client:
        response = await client.post(
            "/api/dead-letters/replay-all",
            headers={"Authorization": f"Bearer {settings.regwatch_ops_token}"},
        )
        assert response.status_code == 200


@ASYNC
async def test_logout_ends_the_session_even_for_a_copied_cookie(board: Dashboard) -> None:
    async with client_of(board) as client:
        token = await log_in(client)
        copied = client.cookies["regwatch_ops"]
        assert (await client.post("/logout", data={"csrf_token": token})).status_code == 303
    async with client_of(board) as thief:
        thief.cookies.set("regwatch_ops", copied)
        assert (await thief.get("/api/overview")).status_code == 401
        assert (await thief.get("/")).headers["location"].startswith("/login")


@ASYNC
async def test_a_user_removed_from_the_list_is_logged_out_at_once(board: Dashboard) -> None:
    async with client_of(board) as client:
        await log_in(client)
        cookie = client.cookies["regwatch_ops"]
    async with client_of(board, dashboard_users="") as after_removal:
        after_removal.cookies.set("regwatch_ops", cookie)
        assert (await after_removal.get("/api/overview")).status_code == 401
    new_password = f"mei:{hash_password('another-password')}"
    async with client_of(board, dashboard_users=new_password) as after_change:
        after_change.cookies.set("regwatch_ops", cookie)
        assert (await after_change.get("/api/overview")).status_code == 401


@ASYNC
async def test_each_log_in_gets_a_new_session_id(board: Dashboard) -> None:
    async with client_of(board) as client:
        first = await log_in(client)
        second = await log_in(client)
        assert first != second  # no session fixation: the token follows the session id


def test_the_cookie_is_secure_unless_the_dashboard_is_on_loopback() -> None:
    assert secure_cookie(Settings(http_host="127.0.0.1")) is False
    assert secure_cookie(Settings(http_host="localhost")) is False
    assert secure_cookie(Settings(http_host="::1")) is False
    assert secure_cookie(Settings(http_host="0.0.0.0")) is True
    assert secure_cookie(Settings(http_host="10.0.0.5")) is True
    assert secure_cookie(Settings(http_host="0.0.0.0", dashboard_secure_cookie=False)) is False


@ASYNC
async def test_the_session_cookie_is_secure_httponly_and_samesite_off_loopback(
    board: Dashboard,
) -> None:
    async with client_of(board, http_host="0.0.0.0") as client:
        response = await client.post("/login", data={"username": "mei", "password": PASSWORD})
        cookie = response.headers["set-cookie"].lower()
        assert "secure" in cookie
        assert "httponly" in cookie
        assert "samesite=lax" in cookie


@pytest.mark.parametrize(
    "target",
    [
        "/\\evil.example",
        "//evil.example",
        "/\t/evil.example",
        "https://evil.example",
        "/%0a/evil.example\n",
        "\\\\evil.example",
        "javascript:alert(1)",
        "",
    ],
)
def test_login_never_redirects_to_another_site(target: str) -> None:
    assert _safe_next(target) == "/"


def test_login_redirects_to_paths_of_this_site() -> None:
    assert _safe_next("/applications?status=submitted") == "/applications?status=submitted"


@ASYNC
async def test_every_answer_carries_the_security_headers(board: Dashboard) -> None:
    async with client_of(board) as client:
        answers = [await client.get("/login"), await client.get("/healthz")]
        await log_in(client)
        answers += [await client.get(p) for p in ("/", "/events", "/applications", "/nothing")]
        answers.append(await client.get("/static/dashboard.js"))
    for response in answers:
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"


@ASYNC
async def test_docs_openapi_and_metrics_are_for_ops_only(board: Dashboard) -> None:
    async with client_of(board) as client:
        for path in ("/docs", "/openapi.json"):
            assert (await client.get(path)).status_code == 303  # to the log-in page
        assert (await client.get("/metrics")).status_code == 401
        await log_in(client)
        assert (await client.get("/openapi.json")).json()["info"]["title"]
        assert "swagger" in (await client.get("/docs")).text.lower()
        assert "regwatch_http_requests_total" in (await client.get("/metrics")).text


@ASYNC
async def test_docs_and_metrics_can_be_open_or_off_by_setting(board: Dashboard) -> None:
    async with client_of(board, dashboard_docs="open", metrics_access="open") as client:
        assert (await client.get("/openapi.json")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200
    async with client_of(board, dashboard_docs="off", metrics_access="off") as client:
        await log_in(client)
        assert (await client.get("/openapi.json")).status_code == 404
        assert (await client.get("/metrics")).status_code == 404
