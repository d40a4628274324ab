"""The intake HTTP API (FastAPI): partner uploads and queries, ops decisions, imports."""

from __future__ import annotations

from fastapi import FastAPI

from services.intake.http import (
    calendar,
    decisions,
    health,
    partner_api,
    problems,
    registrations,
    webhooks,
)
from services.intake.http.deps import presents_ops_token
from services.intake.http.limits import UploadSizeLimit
from services.intake.http.openapi import document_problems
from services.intake.http.options import AnswerOptions
from shared.infra.metrics import instrument_http
from shared.infra.runtime import ServiceContext


def create_http_app(ctx: ServiceContext) -> FastAPI:
    """The API app; every router reads the service context from ``app.state.ctx``."""
    app = FastAPI(
        title="regwatch intake API",
        version="1",
        description="Partners create applications and upload documents; ops record decisions.",
    )
    app.state.ctx = ctx
    problems.install(app)
    app.add_middleware(UploadSizeLimit, max_bytes=ctx.settings.max_document_bytes)
    app.add_middleware(AnswerOptions)
    instrument_http(app, "intake", access=ctx.settings.metrics_access, is_ops=presents_ops_token)
    for module in (health, partner_api, decisions, registrations, calendar, webhooks):
        app.include_router(module.router)
    document_problems(app)
    webhooks.describe_deliveries(app)
    return app
