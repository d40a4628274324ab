"""One event as ops read it: a line with its type, subject and a short summary."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class EventLine(BaseModel):
    id: str
    type: str
    time: datetime
    subject: str | None = None
    source: str | None = None
    application_id: str | None = None
    summary: str
    data: dict[str, Any]


def _summary(event_type: str, data: dict[str, Any]) -> str:
    if event_type == "document.received":
        return f"{data.get('document_type')} {data.get('filename')} ({data.get('size')} bytes)"
    if event_type == "document.rejected":
        errors = data.get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or "rejected"
    if event_type == "application.validated":
        missing = data.get("missing") or []
        extra = f", missing {len(missing)}" if missing else ""
        return f"verdict {data.get('verdict')}{extra} (catalog {data.get('catalog_version')})"
    if event_type == "application.status_changed":
        return f"{data.get('from_status')} -> {data.get('to_status')} by {data.get('actor')}"
    if event_type.startswith(("deadline.", "registration.")):
        return f"{data.get('kind')} due {data.get('due_at')}, {data.get('days_left')} days left"
    if event_type.startswith("notification."):
        return f"{data.get('event_type')} to {data.get('recipient')}" + (
            f": {data['reason']}" if data.get("reason") else ""
        )
    return ", ".join(f"{k}={v}" for k, v in list(data.items())[:4])


def event_line(event: dict[str, Any]) -> EventLine:
    """The ops view of a CloudEvent given as JSON (from the outbox or the live feed)."""
    data = event.get("data") or {}
    return EventLine(
        id=str(event["id"]),
        type=str(event["type"]),
        time=event["time"],
        subject=event.get("subject"),
        source=event.get("source"),
        application_id=data.get("application_id") or event.get("subject"),
        summary=_summary(str(event["type"]), data),
        data=data,
    )


def matches(line: EventLine, *, event_type: str | None, application_id: str | None) -> bool:
    """Whether a live event passes the feed's filters (empty filter = everything)."""
    if event_type and line.type != event_type:
        return False
    return not application_id or application_id in (line.subject, line.application_id)
