"""FastAPI dependencies shared by the intake routers."""

from __future__ import annotations

import hmac

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.intake.http.problems import Problem
from services.intake.lookups import lookups_of
from shared.domain.models import Partner
from shared.infra.runtime import ServiceContext


def service_context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


# Dependencies here are coroutines: FastAPI runs a plain function dependency in a worker
# thread, a thread hop per request for what is an attribute read.
async def context_dependency(request: Request) -> ServiceContext:
    """The service context, as a dependency (``Depends(context_dependency)``)."""
    return service_context(request)


def bearer_token(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


def is_ops_token(request: Request, authorization: str | None) -> bool:
    """Whether ``authorization`` is ``Bearer $REGWATCH_OPS_TOKEN``."""
    token = bearer_token(authorization)
    expected = service_context(request).settings.regwatch_ops_token
    return token is not None and hmac.compare_digest(token.encode(), expected.encode())


async def require_ops(request: Request, authorization: str | None = Header(default=None)) -> str:
    """Ops credentials: ``Authorization: Bearer $REGWATCH_OPS_TOKEN``; returns the actor."""
    if not is_ops_token(request, authorization):
        raise HTTPException(status_code=401, detail="ops credentials required")
    return "ops"


async def presents_ops_token(request: Request) -> bool:
    """Whether the request carries the ops token (for /metrics)."""
    return is_ops_token(request, request.headers.get("authorization"))


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
    # Remembered briefly, as the AMQP users are (services/intake/lookups.py).
    partner = await lookups_of(service_context(request)).partner_for_api_key(
        credentials.credentials
    )
    if partner is None:
        raise Problem(
            401,
            "unauthorized",
            "The API key is unknown or revoked: ask regwatch ops for a new one.",
            headers=challenge,
        )
    return partner
