from __future__ import annotations

from fastapi import APIRouter, Request

from services.intake.http.deps import service_context

router = APIRouter()


@router.get("/healthz", tags=["ops"])
async def healthz(request: Request) -> dict[str, str]:
    await service_context(request).db.command("ping")
    return {"status": "ok", "service": "regwatch-intake"}
