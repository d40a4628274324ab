"""Webhook endpoints of the partner API: register, list, delete and rotate the signing
secret (partner API key).

Deliveries follow the Standard Webhooks specification; the OpenAPI document describes the
request regwatch sends under ``webhooks`` (see ``describe_deliveries``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Response
from pydantic import BaseModel, Field

from services.intake.http.deps import context_dependency, require_partner
from services.intake.http.problems import MEDIA_TYPE, Problem
from shared.app import webhook_secrets, webhooks
from shared.domain.events import CloudEvent
from shared.domain.models import Partner
from shared.domain.webhooks import WebhookRefused
from shared.infra.runtime import ServiceContext
from shared.infra.secret_box import SecretBox

router = APIRouter(prefix="/v1", tags=["webhooks"])
PartnerDep = Annotated[Partner, Depends(require_partner)]
ContextDep = Annotated[ServiceContext, Depends(context_dependency)]
PROBLEM: dict[str, Any] = {"content": {MEDIA_TYPE: {}}, "description": "A problem (RFC 9457)."}
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM for code in (401, 404, 422)}
MAX_GRACE_HOURS = 168.0  # a week: the old secret signs no longer than that after a rotation


class WebhookCreate(BaseModel):
    url: str = Field(
        max_length=2000,
        examples=["https://erp.example.com/regwatch/events"],
        description="An https:// URL on a public address.",
    )
    events: list[str] = Field(
        default_factory=list,
        examples=[["application.*", "deadline.*"]],
        description="Event types to receive; '*' is one word. Empty or absent: every event.",
    )


class WebhookView(BaseModel):
    id: str
    url: str
    events: list[str]
    status: webhooks.EndpointStatus
    created_at: datetime
    consecutive_failures: int
    disabled_at: datetime | None
    disabled_reason: str | None = Field(description="Why deliveries stopped, when disabled.")
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None


class WebhookCreated(WebhookView):
    secret: str = Field(
        description="The signing secret (whsec_...), shown only in this answer: verify each "
        "delivery's webhook-signature with it."
    )


class WebhookRotation(BaseModel):
    grace_hours: float | None = Field(
        default=None,
        ge=0,
        le=MAX_GRACE_HOURS,
        allow_inf_nan=False,
        examples=[24],
        description="How long deliveries are signed with the old secret too (0: stop now). "
        "Absent: the default grace period (24 hours unless configured otherwise).",
    )


class WebhookRotated(WebhookView):
    secret: str = Field(
        description="The new signing secret (whsec_...), shown only in this answer; until "
        "previous_secret_until each delivery carries a signature with either secret."
    )
    previous_secret_until: datetime = Field(
        description="When the old secret stops signing (now, with a grace period of 0)."
    )


def _view(endpoint: webhooks.WebhookEndpoint) -> WebhookView:
    return WebhookView.model_validate(endpoint.model_dump())


@router.post("/webhooks", status_code=201, response_model=WebhookCreated, responses=ERRORS)
async def create_webhook(
    body: WebhookCreate, partner: PartnerDep, ctx: ContextDep
) -> WebhookCreated:
    """Register an endpoint for your events; the answer holds its secret, shown only once."""
    try:
        endpoint, secret = await webhooks.create_endpoint(
            ctx.db,
            partner_id=partner.id,
            url=body.url,
            events=body.events,
            now=ctx.clock.now(),
            allow_loopback=ctx.settings.webhook_allow_loopback,
            box=SecretBox.from_settings(ctx.settings),
        )
    except WebhookRefused as exc:
        raise Problem(422, "webhook_refused", str(exc)) from None
    return WebhookCreated(**_view(endpoint).model_dump(), secret=secret)


@router.get("/webhooks", response_model=list[WebhookView], responses=ERRORS)
async def list_webhooks(partner: PartnerDep, ctx: ContextDep) -> list[WebhookView]:
    """Your endpoints with their state; a disabled one says why it was disabled."""
    return [_view(e) for e in await webhooks.list_endpoints(ctx.db, partner_id=partner.id)]


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=ERRORS)
async def delete_webhook(webhook_id: str, partner: PartnerDep, ctx: ContextDep) -> Response:
    """Delete one of your endpoints; deliveries still waiting for it are dropped."""
    try:
        await webhooks.delete_endpoint(ctx.db, endpoint_id=webhook_id, partner_id=partner.id)
    except webhooks.UnknownEndpoint as exc:
        raise Problem(404, "unknown_webhook", str(exc)) from None
    return Response(status_code=204)


@router.post(
    "/webhooks/{webhook_id}/rotate-secret",
    response_model=WebhookRotated,
    responses=ERRORS | {409: PROBLEM},
)
async def rotate_webhook_secret(
    webhook_id: str,
    partner: PartnerDep,
    ctx: ContextDep,
    body: Annotated[WebhookRotation | None, Body()] = None,
) -> WebhookRotated:
    """Give one of your endpoints a new signing secret, shown only in this answer. Until
    `previous_secret_until` every delivery is signed with the old and the new secret
    (two signatures in webhook-signature), so your receiver can switch whenever it likes."""
    hours = body.grace_hours if body is not None else None
    if hours is None:
        hours = ctx.settings.webhook_secret_grace_hours
    try:
        endpoint, secret = await webhook_secrets.rotate_secret(
            ctx.db,
            endpoint_id=webhook_id,
            partner_id=partner.id,
            box=SecretBox.from_settings(ctx.settings),
            now=ctx.clock.now(),
            grace=timedelta(hours=hours),
        )
    except webhook_secrets.RotationRaced as exc:
        raise Problem(409, "rotation_conflict", str(exc)) from None
    except webhooks.UnknownEndpoint as exc:
        raise Problem(404, "unknown_webhook", str(exc)) from None
    assert endpoint.previous_secret_until is not None  # a rotation sets it
    return WebhookRotated(
        **_view(endpoint).model_dump(),
        secret=secret,
        previous_secret_until=endpoint.previous_secret_until,
    )


def describe_deliveries(app: FastAPI) -> None:
    """Document the request regwatch sends to an endpoint (OpenAPI ``webhooks``)."""

    @app.webhooks.post("partner-event", tags=["webhooks"])
    def partner_event(
        event: CloudEvent,
        webhook_id: Annotated[str, Header(description="The event id; the same on every retry.")],
        webhook_timestamp: Annotated[str, Header(description="Seconds since the epoch.")],
        webhook_signature: Annotated[
            str, Header(description="'v1,' + base64 HMAC-SHA256 (Standard Webhooks).")
        ],
    ) -> None:
        """One of your events (a CloudEvent, as on your AMQP events queue), signed per the
        Standard Webhooks specification. Answer 2xx within 10 s; anything else is retried
        with growing waits for 24 hours, and 20 failures in a row disable the endpoint."""
