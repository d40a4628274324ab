"""Partners' webhooks for ops: disabled endpoints (alarmed on the overview), recent
deliveries with their attempts, and redelivering one delivery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel

from services.dashboard.auth import require_ops_api, require_ops_page
from services.dashboard.context import Dashboard, dashboard, templates
from shared.app import webhooks
from shared.infra.queue_report import Alarm

api = APIRouter(prefix="/api", tags=["ops"])
pages = APIRouter(include_in_schema=False)


class WebhooksReport(BaseModel):
    disabled: list[webhooks.WebhookEndpoint]
    deliveries: list[dict[str, Any]]


async def webhook_alarms(board: Dashboard) -> list[Alarm]:
    """One alarm per disabled endpoint: its partner gets no webhooks until it is fixed."""
    endpoints = await webhooks.list_endpoints(board.ctx.db)
    return [
        Alarm(
            queue=f"webhook {e.id}",
            message=f"partner {e.partner_id}'s endpoint {e.url} is {e.disabled_reason}",
        )
        for e in endpoints
        if e.status == "disabled"
    ]


async def report(board: Dashboard, status: str | None = None) -> WebhooksReport:
    db = board.ctx.db
    endpoints = await webhooks.list_endpoints(db)
    deliveries = await webhooks.recent_deliveries(db, status=status or None)
    return WebhooksReport(
        disabled=[e for e in endpoints if e.status == "disabled"], deliveries=deliveries
    )


async def redeliver(board: Dashboard, delivery_id: str, actor: str) -> dict[str, Any]:
    ctx = board.ctx
    try:
        return await webhooks.redeliver(
            ctx.db,
            delivery_id=delivery_id,
            now=ctx.clock.now(),
            period=timedelta(hours=ctx.settings.webhook_retry_hours),
            actor=actor,
        )
    except webhooks.UnknownDelivery as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


@api.get("/webhooks")
async def api_webhooks(
    status: str | None = None,
    board: Dashboard = Depends(dashboard),
    _: str = Depends(require_ops_api),
) -> WebhooksReport:
    return await report(board, status)


@api.post("/webhooks/deliveries/{delivery_id}/redeliver")
async def api_redeliver(
    delivery_id: str, board: Dashboard = Depends(dashboard), actor: str = Depends(require_ops_api)
) -> dict[str, str]:
    found = await redeliver(board, delivery_id, actor)
    return {"id": found["_id"], "status": found["status"]}


@pages.get("/webhooks", response_class=HTMLResponse)
async def webhooks_page(
    request: Request,
    status: str | None = None,
    done: str | None = None,
    board: Dashboard = Depends(dashboard),
    actor: str = Depends(require_ops_page),
) -> HTMLResponse:
    context = {
        "actor": actor,
        "report": await report(board, status),
        "status": status or "",
        "done": done,
    }
    return templates.TemplateResponse(request, "webhooks.html", context)


@pages.post("/webhooks/deliveries/{delivery_id}/redeliver")
async def redeliver_form(
    delivery_id: str, board: Dashboard = Depends(dashboard), actor: str = Depends(require_ops_page)
) -> RedirectResponse:
    """Send one delivery again now; the outcome shows on the page once attempted."""
    try:
        await redeliver(board, delivery_id, actor)
        done = f"redeliver: {delivery_id} is due now"
    except HTTPException as exc:
        done = f"redeliver refused: {exc.detail}"
    return RedirectResponse(f"/webhooks?done={quote(done)}", status_code=303)
