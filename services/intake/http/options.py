"""``OPTIONS`` on any path of the API: 204 with the ``Allow`` header (RFC 9110 §9.3.7),
and a 405 whose ``Allow`` lists every method of the path.

Without it FastAPI answers OPTIONS with 405, and its 405s name only the methods of the
first router that knows the path (``POST`` for ``/v1/applications``, not ``GET``).
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class AnswerOptions:
    """ASGI middleware: ``OPTIONS`` lists the methods of the routes matching the path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] != "OPTIONS":
            await self.app(scope, receive, _complete_allow(scope, send))
            return
        methods = allowed_methods(scope)
        if not methods:  # no such path: the app's own 404
            await self.app(scope, receive, send)
            return
        allow = ", ".join(sorted(methods | {"OPTIONS"}))
        await Response(status_code=204, headers={"Allow": allow})(scope, receive, send)


def _complete_allow(scope: Scope, send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 405:
            allow = ", ".join(sorted(allowed_methods(scope) | {"OPTIONS"})).encode()
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
            message = {**message, "headers": [*headers, (b"allow", allow)]}
        await send(message)

    return sending


CANDIDATES = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(scope: Scope) -> set[str]:
    """Each method some route fully matches for this path (routers may be nested, so each
    method is tried rather than read from the routes)."""
    routes = scope["app"].router.routes
    return {
        method
        for method in CANDIDATES
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in routes)
    }
