"""CloudEvents 1.0 envelope (structured JSON mode) and the typed payload of every event."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.lifecycle import DecisionKind

SOURCE_PREFIX = "urn:regwatch:"


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorItem(BaseModel):
    code: str
    message: str


class DocumentReceived(Payload):
    document_id: str
    application_id: str
    partner_id: str
    document_type: str
    filename: str
    content_type: str
    size: int
    sha256: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    received_at: datetime


class DocumentRead(Payload):
    """The reader recorded a document's facts (``document_facts``, id = document id)."""

    document_id: str
    application_id: str
    partner_id: str | None = None  # routes the event to the partner's queue
    document_type: str
    status: Literal["read", "unreadable"]
    reason: str | None = None  # why the file could not be read
    pages: int = 0
    language: str | None = None
    limits: list[str] = Field(default_factory=list)  # page cap or time limit reached
    read_at: datetime


class DocumentRejected(Payload):
    partner_id: str | None = None
    application_id: str | None = None
    message_id: str | None = None
    filename: str | None = None
    errors: list[ErrorItem]


class ApplicationValidated(Payload):
    application_id: str
    verdict: Literal["complete", "incomplete", "refused"]
    missing: list[str] = Field(default_factory=list)
    validation_id: str
    catalog_version: str


class ApplicationStatusChanged(Payload):
    application_id: str
    from_status: str | None
    to_status: str
    actor: str
    reason: str | None = None
    at: datetime
    trigger: str | None = None  # the decision kind or system trigger that moved it
    due_at: datetime | None = None  # end of the window this status opened, if any
    items: list[str] = Field(default_factory=list)  # what ops asked for, or what is missing
    registration_number: str | None = None
    valid_until: date | None = None
    waiting_until: date | None = None  # waiting_for_window: the day the renewal window opens


class ApplicationDecision(Payload):
    """A decision of the authority, recorded by ops (``application.decision``)."""

    decision_id: str
    application_id: str
    kind: DecisionKind
    actor: str = "ops"
    reason: str | None = None
    items: list[str] = Field(default_factory=list)  # materials or rectifications asked for
    registration_number: str | None = None  # certificate_issued
    issued_on: date | None = None  # certificate_issued
    valid_until: date | None = None  # certificate_issued
    assessment_on: date | None = None  # onsite_assessment_scheduled
    notified_on: date | None = None  # the date on the authority's notice (windows run from it)
    decided_at: datetime | None = None


class DeadlineEvent(Payload):
    """Common payload of the ``deadline.*`` and ``registration.expired`` events."""

    deadline_id: str
    reminder_id: str
    kind: str  # renewal | expiry | additional_materials | rectification | processing
    subject: str  # application or registration id
    application_id: str | None = None
    registration_number: str | None = None
    exporter_name: str | None = None
    category: str | None = None  # the catalog's category id of the application or registration
    product: str | None = None
    contact_emails: list[str] = Field(default_factory=list)
    due_at: datetime  # the instant the window closes (24:00 Beijing time on ``due_on``)
    due_on: date | None = None  # the window's last day in Beijing, as people read it
    days_left: int
    missing: list[str] = Field(default_factory=list)
    point: str | None = None  # the reminder point: "opens-notice", "T-14d", "due", "expired"
    expires_at: datetime | None = None  # renewals: when the registration expires
    valid_until: date | None = None  # renewals and expiry: the term's last valid day
    opens_on: date | None = None  # renewals: the first day renewal applications are taken
    renewal_documents: list[str] = Field(default_factory=list)  # what a renewal will need
    renewable: bool = True  # expiry: False when no renewal is possible (see the reason)
    not_renewable_reason: str | None = None
    not_renewable_from: date | None = None
    application_status: str | None = None  # a missed window: the status it moved to


class RegistrationStatusChanged(Payload):
    """A registration moved in its own lifecycle (``registration.status_changed``)."""

    registration_id: str
    registration_number: str
    from_status: str | None
    to_status: str
    trigger: str
    actor: str
    reason: str | None = None
    at: datetime
    application_id: str | None = None  # the renewal application concerned, if any
    category: str
    product: str | None = None
    exporter_name: str | None = None
    contact_emails: list[str] = Field(default_factory=list)
    valid_until: date  # the current term's last valid day
    window_opens_on: date | None = None
    window_closes_on: date | None = None
    renewable: bool = True
    not_renewable_reason: str | None = None


class NotificationSent(Payload):
    event_id: str
    event_type: str
    recipient: str
    subject: str


class NotificationFailed(Payload):
    event_id: str
    event_type: str
    recipient: str | None = None
    reason: str


PAYLOADS: dict[str, type[Payload]] = {
    "document.received": DocumentReceived,
    "document.rejected": DocumentRejected,
    "document.read": DocumentRead,
    "application.validated": ApplicationValidated,
    "application.status_changed": ApplicationStatusChanged,
    "application.decision": ApplicationDecision,
    "deadline.renewal_window_opens": DeadlineEvent,
    "deadline.renewal_due": DeadlineEvent,
    "deadline.expiry_due": DeadlineEvent,
    "deadline.additional_materials_due": DeadlineEvent,
    "deadline.rectification_due": DeadlineEvent,
    "deadline.missed": DeadlineEvent,
    "deadline.processing_overdue": DeadlineEvent,
    "registration.expired": DeadlineEvent,
    "registration.status_changed": RegistrationStatusChanged,
    "notification.sent": NotificationSent,
    "notification.failed": NotificationFailed,
}


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 envelope; ``data`` holds the payload as JSON."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    time: datetime
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    correlationid: str | None = None
    causationid: str | None = None
    data: dict[str, Any]


def new_event(
    event_type: str,
    payload: Payload,
    *,
    service: str,
    time: datetime,
    subject: str | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    event_id: str | None = None,
) -> CloudEvent:
    """Build an envelope for ``payload``; the type must be a known event type."""
    expected = PAYLOADS[event_type]
    if not isinstance(payload, expected):
        raise TypeError(f"{event_type} carries {expected.__name__}, not {type(payload).__name__}")
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source=f"{SOURCE_PREFIX}{service}",
        type=event_type,
        time=time,
        subject=subject,
        correlationid=correlation_id,
        causationid=causation_id,
        data=payload.model_dump(mode="json"),
    )
