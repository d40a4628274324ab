"""Which events become emails, to whom, saying what (pure: no server, no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import BaseModel, Field

from shared.domain.events import ApplicationStatusChanged, CloudEvent, DeadlineEvent

WINDOWS = {
    "additional_materials": "additional materials",
    "rectification": "rectification",
    "renewal": "renewal",
    "processing": "processing",
}
# Lifecycle statuses an exporter hears about (design.md names, and the decision names).
STATUS_TEMPLATES = {
    "additional_materials_requested": "window_opened",
    "rectification_requested": "window_opened",
    "certificate_issued": "certificate_issued",
    "registered": "certificate_issued",
    "failed": "failure_notice",
    "failure_notice": "failure_notice",
    "registration_failed": "failure_notice",
    "not_accepted": "failure_notice",
    "refused": "failure_notice",
}
STATUS_WINDOWS = {
    "additional_materials_requested": "additional_materials",
    "rectification_requested": "rectification",
}
# The scheduler's own transitions (a missed window) are told by its deadline.missed notice.
QUIET_ACTORS = frozenset({"scheduler"})


class Notice(BaseModel):
    """Everything one email says; the templates only lay it out."""

    template: str
    subject: str
    exporter_name: str
    product: str | None = None
    application_id: str | None = None
    registration_number: str | None = None
    window: str | None = None
    due_at: datetime | None = None
    days_left: int | None = None
    expires_at: datetime | None = None
    missing: list[str] = Field(default_factory=list)
    new_status: str | None = None
    reason: str | None = None
    recipients: list[str] = Field(default_factory=list)


def _reference(application_id: str | None, registration_number: str | None) -> str:
    if registration_number:
        return f"registration {registration_number}"
    return f"application {application_id}"


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def deadline_notice(event: CloudEvent, ops_email: str) -> Notice:
    """The email of a ``deadline.*`` or ``registration.expired`` event."""
    data = DeadlineEvent.model_validate(event.data)
    exporter = data.exporter_name or "your company"
    window = WINDOWS.get(data.kind, data.kind)
    reference = _reference(data.application_id, data.registration_number)
    due = f"{data.due_at:%d %B %Y}"
    templates = {
        "deadline.renewal_due": (
            "renewal_due",
            f"Renewal due in {_days(data.days_left)}: {exporter}, {reference} (by {due})",
        ),
        "deadline.rectification_due": (
            "window_due",
            f"{window.capitalize()} due in {_days(data.days_left)}: {exporter}, {reference} (by {due})",
        ),
        "deadline.missed": (
            "missed",
            f"Deadline missed: the {window} window for {reference} closed on {due}",
        ),
        "registration.expired": (
            "expired",
            f"Registration expired: {exporter}, {reference} (on {due})",
        ),
        "deadline.processing_overdue": (
            "processing_overdue",
            f"Processing overdue: {reference} of {exporter} has had no decision since {due}",
        ),
    }
    template, subject = templates[event.type]
    recipients = [ops_email] if event.type == "deadline.processing_overdue" else data.contact_emails
    return Notice(
        template=template,
        subject=subject,
        exporter_name=exporter,
        product=data.product,
        application_id=data.application_id,
        registration_number=data.registration_number,
        window=window,
        due_at=data.due_at,
        days_left=data.days_left,
        expires_at=data.expires_at,
        missing=data.missing,
        new_status=data.application_status,
        recipients=list(dict.fromkeys(recipients)),
    )


def status_notice(
    event: CloudEvent,
    application: dict[str, Any],
    *,
    missing: list[str],
    due_at: datetime | None,
    days_left: int | None,
) -> Notice | None:
    """The email of an ``application.status_changed`` that matters to the exporter, if any."""
    change = ApplicationStatusChanged.model_validate(event.data)
    template = STATUS_TEMPLATES.get(change.to_status)
    if template is None or change.actor in QUIET_ACTORS:
        return None
    exporter = application.get("exporter") or {}
    name = exporter.get("name") or "your company"
    window = WINDOWS.get(STATUS_WINDOWS.get(change.to_status, ""))
    registration_number = change.registration_number or application.get("registration_number")
    subjects = {
        "window_opened": f"{(window or '').capitalize()} requested for application {change.application_id} ({name})",
        "certificate_issued": f"Certificate issued: {name}, registration {registration_number or 'number to follow'}",
        "failure_notice": f"Registration refused: application {change.application_id} ({name})",
    }
    return Notice(
        template=template,
        subject=subjects[template],
        exporter_name=name,
        product=application.get("product"),
        application_id=change.application_id,
        registration_number=registration_number,
        window=window,
        due_at=due_at,
        days_left=days_left,
        expires_at=_valid_until(application, change.valid_until),
        missing=change.items or missing,
        new_status=change.to_status,
        reason=change.reason,
        recipients=list(dict.fromkeys(exporter.get("contact_emails") or [])),
    )


def _valid_until(application: dict[str, Any], given: date | None) -> datetime | None:
    if given is not None:
        return datetime.combine(given, time.min, UTC)
    value = application.get("registration_valid_until")
    return value if isinstance(value, datetime) else None
