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
from urllib.parse import urlsplit

from fastapi import Request
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import PlainTextResponse, Response

from services.dashboard.auth import SESSION_ID
from shared.infra.settings import Settings

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
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


class CsrfGuard(BaseHTTPMiddleware):
    """Refuses a state-changing request of a browser without this session's token, or one
    that another site's page sent (its ``Origin`` names another host)."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.method not in UNSAFE_METHODS or "authorization" in request.headers:
            return await call_next(request)
        if not same_origin(request):
            return PlainTextResponse("Cross-site request refused.", status_code=403)
        expected = csrf_token(request)
        if expected:  # a session: the form or the htmx request must carry its token
            sent = request.headers.get(CSRF_HEADER) or await _form_token(request)
            if not sent or not hmac.compare_digest(sent, expected):
                return PlainTextResponse(
                    "The form is stale or not ours: reload the page and try again.",
                    status_code=403,
                )
        return await call_next(request)


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def _form_token(request: Request) -> str | None:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    value = (await request.form()).get(CSRF_FIELD)
    return value if isinstance(value, str) else None
