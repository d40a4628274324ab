"""Ops record the authority's decisions: ``POST /v1/applications/{id}/decisions``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from services.intake.http.deps import require_ops, service_context
from shared.app.decisions import Decision, DecisionRefused, UnknownApplication, apply_decision
from shared.app.registrations import RegistrationRefused
from shared.domain.catalog import cached_catalog
from shared.domain.lifecycle import IllegalTransition

router = APIRouter(tags=["ops"])


@router.post(
    "/v1/applications/{application_id}/decisions",
    status_code=201,
    responses={
        200: {"description": "The same decision id was recorded before; nothing changed."},
        401: {"description": "Ops credentials required (partner keys are refused)."},
        404: {"description": "No such application."},
        409: {"description": "The decision is not allowed in the application's status."},
    },
)
async def record_decision(
    application_id: str,
    decision: Decision,
    request: Request,
    response: Response,
    actor: str = Depends(require_ops),
) -> dict[str, Any]:
    """Apply a decision of the authority; it moves the lifecycle and opens or closes windows.

    Send ``decision_id`` to make a retry safe: the same id is applied once.
    """
    ctx = service_context(request)
    catalog = cached_catalog(ctx.settings.catalog_dir)
    payload = decision.as_payload(application_id, actor, ctx.clock.now())
    try:
        outcome = await apply_decision(
            ctx,
            catalog=catalog,
            decision=payload,
            publish_decision=True,
            correlation_id=request.headers.get("x-correlation-id"),
        )
    except UnknownApplication as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except (IllegalTransition, DecisionRefused, RegistrationRefused) as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    if outcome.repeated:
        response.status_code = 200
    return outcome.as_dict()
