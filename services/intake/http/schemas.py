"""Bodies of the partner API: what partners send and what they get back."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.models import ApplicationKind, Exporter, StatusChange


class ApplicationCreate(BaseModel):
    """A new application, a renewal of a registration, or a change to one."""

    model_config = ConfigDict(extra="forbid")

    exporter: Exporter
    category: str = Field(examples=["food.dairy", "scrap.metal"])
    product: str | None = Field(default=None, examples=["milk_powder"])
    kind: ApplicationKind
    registration_number: str | None = None
    registration_valid_until: date | None = None

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
