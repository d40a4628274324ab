"""Records kept in MongoDB, as pydantic models (``_id`` is ``id``)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from shared.domain.lifecycle import StatusChange

ApplicationKind = Literal["new", "renewal", "change"]


def new_id(prefix: str) -> str:
    """A readable unique id such as ``app_3f2c...``."""
    return f"{prefix}_{uuid.uuid4().hex}"


class Record(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")

    def to_mongo(self) -> dict[str, Any]:
        """The document to store: calendar days become UTC midnights (BSON has no date)."""
        return {k: _bson_day(v) for k, v in self.model_dump(by_alias=True).items()}


def _bson_day(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time.min, UTC)
    return value


class Partner(Record):
    name: str
    amqp_user: str | None = None
    created_at: datetime
    revoked: bool = False


class Exporter(BaseModel):
    name: str
    country: str
    home_registration_number: str | None = None
    contact_emails: list[EmailStr] = Field(default_factory=list)


class Application(Record):
    partner_id: str
    exporter: Exporter
    category: str
    product: str | None = None
    kind: ApplicationKind
    registration_number: str | None = None
    registration_valid_until: date | None = None
    status: str = "submitted"
    history: list[StatusChange] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class DocumentRecord(Record):
    application_id: str
    partner_id: str
    document_type: str
    filename: str
    original_filename: str
    declared_content_type: str
    content_type: str
    size: int
    sha256: str
    blob_id: Any
    metadata: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = None
    channel: Literal["amqp", "http"]
    flags: list[str] = Field(default_factory=list)
    received_at: datetime
