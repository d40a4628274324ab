"""Ops import existing registrations: ``POST /v1/registrations/import`` (CSV)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from services.intake.http.deps import require_ops, service_context
from shared.app.registrations import CSV_COLUMNS, import_registrations
from shared.domain.catalog import cached_catalog

router = APIRouter(tags=["ops"])
MAX_IMPORT_BYTES = 20 * 1024 * 1024


@router.post(
    "/v1/registrations/import",
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
            "description": f"CSV with the header row {','.join(CSV_COLUMNS)}",
        }
    },
)
async def import_csv(request: Request, actor: str = Depends(require_ops)) -> dict[str, Any]:
    """Import registrations so their renewals are watched; bad rows are reported by line.

    Importing the same file twice changes nothing (one registration per number).
    """
    ctx = service_context(request)
    text = await _csv_text(request)
    report = await import_registrations(
        ctx.client,
        ctx.db,
        catalog=cached_catalog(ctx.settings.catalog_dir),
        text=text,
        now=ctx.clock.now(),
    )
    for event_id in report.event_ids:
        await ctx.relay.publish(event_id)
    return report.as_dict()


async def _csv_text(request: Request) -> str:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(status_code=422, detail="send the CSV as the form field 'file'")
        raw = await upload.read(MAX_IMPORT_BYTES + 1)
    else:
        raw = await request.body()
    if len(raw) > MAX_IMPORT_BYTES:
        raise HTTPException(status_code=413, detail=f"the CSV is over {MAX_IMPORT_BYTES} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(status_code=422, detail="the CSV must be UTF-8 text") from None
