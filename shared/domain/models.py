"""Records kept in MongoDB, as pydantic models (``_id`` is ``id``)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, computed_field, model_validator

from shared.domain import search_terms
from shared.domain.lifecycle import StatusChange

ApplicationKind = Literal["new", "renewal", "change"]
# The languages an exporter's contacts get their emails in; a contact without one: English.
ContactLanguage = Literal["en", "zh"]
CONTACT_LANGUAGES: tuple[str, ...] = ("en", "zh")
DEFAULT_LANGUAGE = "en"


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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def name_terms(self) -> list[str]:
        """Stored with the partner so that ops search finds it by a word of its name."""
        return search_terms.name_terms(self.name)


class Exporter(BaseModel):
    name: str
    country: str
    home_registration_number: str | None = None
    contact_emails: list[EmailStr] = Field(default_factory=list)
    # Per contact email; a contact not named here reads English. A map beside the list keeps
    # every partner that sends plain ``contact_emails`` working unchanged.
    contact_languages: dict[EmailStr, ContactLanguage] = Field(
        default_factory=dict,
        description="The language each contact gets its emails in (en or zh), by email; "
        "every key is one of contact_emails; a contact not named here reads English.",
        examples=[{"li.wei@exporter.example": "zh"}],
    )

    @model_validator(mode="after")
    def _languages_of_contacts(self) -> Exporter:
        strangers = sorted(set(self.contact_languages) - set(self.contact_emails))
        if strangers:
            raise ValueError(
                f"contact_languages names {', '.join(strangers)}, not in contact_emails"
            )
        return self


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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def exporter_terms(self) -> list[str]:
        """Stored with the application so that ops search finds it by a word of the name."""
        return search_terms.name_terms(self.exporter.name)


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
