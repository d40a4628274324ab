"""What a browser needs to be told: security headers on every answer, and CSRF tokens.

The CSRF token is an HMAC of the session id: it changes with each log-in, needs no
storage, and a page of another site can neither read nor compute it. Requests that carry
``Authorization`` (scripts with the ops token) are not a browser's ambient credentials and
need no token; the route's own check decides about them.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from urllib.parse import parse_qs, urlsplit

from fastapi import Request
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.dashboard.auth import SESSION_ID
from shared.infra.settings import Settings

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
MAX_FORM_BYTES = 64 * 1024
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Everything the dashboard loads is its own: scripts and styles from /static, charts as SVG
# from /charts, the live feed from /events/stream. No frame may embed it (clickjacking).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Swagger UI (behind log-in) comes from a CDN with an inline bootstrap script.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def secure_cookie(settings: Settings) -> bool:
    """``DASHBOARD_SECURE_COOKIE`` if set; by default Secure unless bound to loopback."""
    if settings.dashboard_secure_cookie is not None:
        return settings.dashboard_secure_cookie
    return not is_loopback(settings.http_host)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def csrf_token(request: Request) -> str:
    """The token of this session (empty without one: nothing to protect yet)."""
    session_id = request.session.get(SESSION_ID)
    if not session_id:
        return ""
    secret: str = request.app.state.csrf_secret
    return hmac.new(secret.encode(), f"csrf:{session_id}".encode(), hashlib.sha256).hexdigest()


class SecurityHeaders(BaseHTTPMiddleware):
    """Adds the headers above to every answer; a route's own CSP (documents) is kept."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        docs = request.url.path in ("/docs", "/docs/oauth2-redirect")
        policy = DOCS_POLICY if docs else CONTENT_SECURITY_POLICY
        response.headers.setdefault("Content-Security-Policy", policy)
        return response


class CsrfGuard:
    """Refuses a state-changing request of a browser without this session's token, or one
    that another site's page sent (its ``Origin`` names another host).

    Plain ASGI: the form is read here and its bytes handed on, so the route reads it again.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if "authorization" in request.headers:
            await self.app(scope, receive, send)
            return
        if not same_origin(request):
            await PlainTextResponse("Cross-site request refused.", 403)(scope, receive, send)
            return
        body = await _read_body(receive)
        expected = csrf_token(request)
        if expected:  # a session: the form or the htmx request must carry its token
            sent = request.headers.get(CSRF_HEADER) or _form_token(request, body)
            if body is None or not sent or not hmac.compare_digest(sent, expected):
                refusal = "The form is stale or not ours: reload the page and try again."
                await PlainTextResponse(refusal, 403)(scope, receive, send)
                return
        await self.app(scope, _replay(body or b""), send)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None when it is larger than any dashboard form."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _form_token(request: Request, body: bytes | None) -> str | None:
    content_type = request.headers.get("content-type", "")
    if body is None or not content_type.startswith("application/x-www-form-urlencoded"):
        return None  # the dashboard's forms are urlencoded; anything else sends the header
    values = parse_qs(body.decode("latin-1")).get(CSRF_FIELD)
    return values[0] if values else None
