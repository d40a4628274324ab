"""FastAPI dependencies shared by the intake routers."""

from __future__ import annotations

import hmac

from fastapi import Header, HTTPException, Request

from shared.runtime import ServiceContext


def service_context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


def bearer_token(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


def require_ops(request: Request, authorization: str | None = Header(default=None)) -> str:
    """Ops credentials: ``Authorization: Bearer $REGWATCH_OPS_TOKEN``; returns the actor."""
    token = bearer_token(authorization)
    expected = service_context(request).settings.regwatch_ops_token
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(status_code=401, detail="ops credentials required")
    return "ops"
