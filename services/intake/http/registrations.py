"""Ops and registrations: import them (CSV), list them, read one in full."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from services.intake.http.deps import require_ops, service_context
from services.intake.http.problems import Problem
from shared.app import registration_views as views
from shared.app.registrations import (
    CSV_COLUMNS,
    UnknownRegistration,
    decide_registration,
    import_registrations,
)
from shared.domain.catalog import cached_catalog
from shared.domain.registration import (
    REGISTRATION_TRANSITIONS,
    IllegalRegistrationMove,
    RegistrationDecisionKind,
)

router = APIRouter(tags=["ops"])
MAX_IMPORT_BYTES = 20 * 1024 * 1024


@router.post(
    "/v1/registrations/import",
    responses={
        400: {"description": "The multipart body cannot be parsed."},
        413: {"description": f"The CSV is over {MAX_IMPORT_BYTES} bytes."},
        422: {"description": "Not UTF-8 text, or the header row is missing or incomplete."},
    },
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
    try:
        _check_header_row(text)
        report = await import_registrations(
            ctx.client,
            ctx.db,
            catalog=cached_catalog(ctx.settings.catalog_dir),
            text=text,
            clock=ctx.clock,
            relay=ctx.relay,
            reminder_time=ctx.settings.reminder_local_time,
        )
    except csv.Error as exc:  # e.g. a bare carriage return inside a field
        raise Problem(422, "bad_csv", f"The CSV cannot be read: {exc}.") from None
    return report.as_dict()


def _check_header_row(text: str) -> None:
    """A file without the header row is not a list of registrations at all: 422, not a
    report of one bad line."""
    header = next(csv.reader(io.StringIO(text)), [])
    missing = [c for c in CSV_COLUMNS if c not in {h.strip() for h in header}]
    if missing:
        message = f"the header row lacks {', '.join(missing)}; expected: {','.join(CSV_COLUMNS)}"
        errors = [{"code": "bad_csv_header", "line": 1, "message": message}]
        raise Problem(422, "bad_csv_header", f"Line 1: {message}.", errors=errors)


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


@router.get(
    "/v1/registrations",
    responses={
        401: {"description": "Ops credentials required."},
        422: {"description": "The status names no registration status."},
    },
)
async def list_registrations(
    request: Request,
    status: str | None = Query(default=None, description="One registration status."),
    within_days: int | None = Query(
        default=None, ge=0, le=3660, description="The window closes or the term ends by then."
    ),
    # Bounded: a larger skip overflows MongoDB's 64-bit integers (a 500, found by fuzzing).
    offset: int = Query(default=0, ge=0, le=10_000_000),
    limit: int = Query(default=views.DEFAULT_PAGE_SIZE, ge=1, le=500),
    _: str = Depends(require_ops),
) -> views.RegistrationPage:
    """Registrations, the soonest term end first, with their window and next reminder.

    ``within_days=90``: those whose renewal window closes, or whose term ends, between
    today (Beijing) and 90 days on.
    """
    ctx = service_context(request)
    try:
        return await views.list_registrations(
            db=ctx.db,
            now=ctx.clock.now(),
            status=status or None,
            within_days=within_days,
            offset=offset,
            limit=limit,
        )
    except views.UnknownRegistrationStatus as exc:
        raise Problem(422, "unknown_status", str(exc)) from None


@router.get(
    "/v1/registrations/{number}",
    responses={
        401: {"description": "Ops credentials required."},
        404: {"description": "No registration has this number."},
    },
)
async def show_registration(
    number: str, request: Request, _: str = Depends(require_ops)
) -> views.RegistrationDetail:
    """One registration: terms, window, status, next reminder, deadlines, history, emails."""
    try:
        return await views.registration_detail(db=service_context(request).db, number=number)
    except views.RegistrationNotFound as exc:
        raise Problem(404, "unknown_registration", str(exc)) from None


class RegistrationDecision(BaseModel):
    """An ops decision on a registration."""

    kind: RegistrationDecisionKind
    reason: str | None = Field(default=None, max_length=2000)


class IllegalMove(Problem):
    """409: the decision is not allowed in the registration's status; lists where it is."""

    def __init__(self, error: IllegalRegistrationMove) -> None:
        super().__init__(409, "illegal_registration_move", str(error))
        self.status_now = error.status
        self.allowed = sorted(s for (s, t) in REGISTRATION_TRANSITIONS if t == error.trigger)

    def body(self, instance: str) -> dict[str, Any]:
        return {
            **super().body(instance),
            "current_status": self.status_now,
            "allowed_statuses": self.allowed,
        }


@router.post(
    "/v1/registrations/{number}/decisions",
    responses={
        401: {"description": "Ops credentials required."},
        404: {"description": "No registration has this number."},
        409: {
            "description": "Not allowed in the registration's status; the problem lists "
            "``current_status`` and ``allowed_statuses``.",
            "content": {"application/problem+json": {}},
        },
    },
)
async def decide(
    number: str,
    decision: RegistrationDecision,
    request: Request,
    actor: str = Depends(require_ops),
) -> views.RegistrationDetail:
    """Suspend, cancel or reinstate a registration; answers the registration after the move.

    Suspension and cancellation stop all its reminders; reinstatement (from ``suspended``)
    takes them up again. Every move is in its history and published as
    ``registration.status_changed``.
    """
    ctx = service_context(request)
    try:
        await decide_registration(
            ctx, number=number, kind=decision.kind, reason=decision.reason, actor=actor
        )
    except UnknownRegistration:
        raise Problem(404, "unknown_registration", f"There is no registration {number}.") from None
    except IllegalRegistrationMove as exc:
        raise IllegalMove(exc) from None
    return await views.registration_detail(db=ctx.db, number=number)
