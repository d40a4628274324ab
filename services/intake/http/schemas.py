"""Bodies of the partner API: what partners send and what they get back."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, model_validator

from services.intake.checks import IsoDate
from shared.domain.lifecycle import StatusChange
from shared.domain.models import ApplicationKind, Exporter

# Control characters (a CR/LF in a name would reach email subjects and CSV exports) and bidi
# overrides (they make a name read otherwise) never reach a stored name; in the schema too,
# so that clients and contract tests know it.
_UNSAFE = r"\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
PLAIN_TEXT = rf"^[^{_UNSAFE}]*[^\s{_UNSAFE}][^{_UNSAFE}]*$"


def _normalised(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


PlainText = Annotated[
    str, Field(min_length=1, max_length=200, pattern=PLAIN_TEXT), AfterValidator(_normalised)
]


class ExporterIn(Exporter):
    """The exporter as a partner sends it (HTTP or AMQP): names a person can read, an ISO
    country code. A subclass, so that it is an ``Exporter`` wherever one is stored."""

    model_config = ConfigDict(extra="forbid")

    name: PlainText
    country: str = Field(pattern=r"^[A-Z]{2}$", examples=["NO", "DE"])
    home_registration_number: PlainText | None = None
    contact_emails: list[EmailStr] = Field(default_factory=list, max_length=20)


class ApplicationCreate(BaseModel):
    """A new application, a renewal of a registration, or a change to one."""

    model_config = ConfigDict(extra="forbid")

    exporter: ExporterIn
    category: str = Field(max_length=100, examples=["food.dairy", "scrap.metal"])
    product: str | None = Field(default=None, max_length=100, examples=["milk_powder"])
    kind: ApplicationKind
    registration_number: PlainText | None = None
    registration_valid_until: IsoDate | None = None

    @model_validator(mode="after")
    def _renewal_names_its_registration(self) -> ApplicationCreate:
        if self.kind == "renewal" and not (
            self.registration_number and self.registration_valid_until
        ):
            raise ValueError(
                "a renewal needs registration_number and registration_valid_until "
                "(the registration being renewed and its expiry date)"
            )
        return self


class ApplicationView(BaseModel):
    id: str
    exporter: Exporter
    category: str
    product: str | None
    kind: ApplicationKind
    registration_number: str | None
    registration_valid_until: date | None
    status: str
    # waiting_for_window: the day the renewal window opens and the application moves on.
    waiting_until: date | None = None
    history: list[StatusChange]
    created_at: datetime
    updated_at: datetime


class DocumentView(BaseModel):
    id: str
    application_id: str
    document_type: str
    filename: str
    original_filename: str
    content_type: str
    size: int
    sha256: str
    metadata: dict[str, Any]
    flags: list[str]
    channel: Literal["amqp", "http"]
    received_at: datetime
    content_url: str


class ApplicationDetail(ApplicationView):
    documents: list[DocumentView]
    reading: int = Field(
        default=0,
        description="Documents still being read (their facts not recorded yet); the content "
        "rules wait for them. 0 once every document is read.",
    )
    validation: dict[str, Any] | None = Field(
        description="The latest validation result, or null before the first evaluation."
    )


class ApplicationPage(BaseModel):
    items: list[ApplicationView]
    page: int
    page_size: int
    next_page: int | None


class UploadAnswer(BaseModel):
    status: Literal["accepted", "duplicate"]
    document: DocumentView


def application_view(document: dict[str, Any]) -> ApplicationView:
    return ApplicationView.model_validate({**document, "id": document["_id"]})


def document_view(document: dict[str, Any]) -> DocumentView:
    return DocumentView.model_validate(
        {
            **document,
            "id": document["_id"],
            "content_url": f"/v1/documents/{document['_id']}/content",
        }
    )
