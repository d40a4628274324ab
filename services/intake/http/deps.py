"""FastAPI dependencies shared by the intake routers."""

from __future__ import annotations

import hmac

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.intake.http.problems import Problem
from shared.app.partners import partner_for_api_key
from shared.domain.models import Partner
from shared.infra.runtime import ServiceContext


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


async def presents_ops_token(request: Request) -> bool:
    """Whether the request carries the ops token (for /metrics)."""
    try:
        require_ops(request, request.headers.get("authorization"))
    except HTTPException:
        return False
    return True


_bearer = HTTPBearer(auto_error=False, description="The partner's API key.")


async def require_partner(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Partner:
    """The partner holding the presented API key (``Authorization: Bearer <api key>``)."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or not credentials.credentials:
        raise Problem(
            401,
            "unauthorized",
            "Send your API key as 'Authorization: Bearer <api key>'.",
            headers=challenge,
        )
    partner = await partner_for_api_key(service_context(request).db, credentials.credentials)
    if partner is None:
        raise Problem(
            401,
            "unauthorized",
            "The API key is unknown or revoked: ask regwatch ops for a new one.",
            headers=challenge,
        )
    return partner
