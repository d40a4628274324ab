"""The rule kinds of the requirements catalog, one pydantic model each."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RuleBase(BaseModel):
    """What every rule carries: an id, its source and what a failure means.

    ``warning``: a failure is advice, shown and emailed, that does not block the application.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    on_fail: Literal["incomplete", "refused", "warning"] = "incomplete"


class Condition(BaseModel):
    """When a rule applies; an unset field does not restrict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    via_agent: bool | None = None
    products: list[str] | None = None


class RequiredDocument(RuleBase):
    """A document type with a minimum and maximum count ("more than 10" is min 11)."""

    kind: Literal["required_document"]
    document_type: str
    min: int = Field(default=1, ge=0)
    max: int | None = Field(default=None, ge=1)
    requirement_text: str | None = None  # how the source words the minimum
    when: Condition | None = None

    @model_validator(mode="after")
    def _max_not_below_min(self) -> RequiredDocument:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


class Coverage(RuleBase):
    """One document for each of the ``years`` calendar years before the filing year
    (and per registered material), whatever its day of issue."""

    kind: Literal["coverage"]
    document_type: str
    years: int = Field(ge=1)
    per_material: bool = False


class Translation(RuleBase):
    """Documents in an accepted language, or with a Chinese translation pointing to them."""

    kind: Literal["translation"]
    document_types: list[str] = Field(min_length=1)
    accepted_languages: list[str] = Field(default_factory=lambda: ["zh"], min_length=1)


class Notarized(RuleBase):
    kind: Literal["notarized"]
    document_types: list[str] = Field(min_length=1)


class FileType(RuleBase):
    """Allowed content types and size; ``document_types`` unset means every document."""

    kind: Literal["file_type"]
    document_types: list[str] | None = None
    content_types: list[str] = Field(min_length=1)
    max_bytes: int | None = Field(default=None, ge=1)


class MetadataFields(RuleBase):
    kind: Literal["metadata_fields"]
    document_types: list[str] = Field(min_length=1)
    fields: list[str] = Field(min_length=1)


class DateRule(RuleBase):
    """Not expired at submission, issued within N years, and/or issued in its stated year."""

    kind: Literal["date"]
    document_types: list[str] = Field(min_length=1)
    not_expired: bool = False
    issued_within_years: int | None = Field(default=None, ge=1)
    # A document that counts for a calendar year (metadata ``year``, see coverage rules)
    # must be issued in that year, on any day of it.
    issued_in_stated_year: bool = False

    @model_validator(mode="after")
    def _says_something(self) -> DateRule:
        if (
            not self.not_expired
            and self.issued_within_years is None
            and not self.issued_in_stated_year
        ):
            raise ValueError(
                "a date rule needs not_expired, issued_within_years or issued_in_stated_year"
            )
        return self


class Colour(RuleBase):
    """A colour image, or a PDF declared colour (greyscale images are detected)."""

    kind: Literal["colour"]
    document_types: list[str] = Field(min_length=1)


class RenewalWindowRule(RuleBase):
    """A renewal is applied for inside the regime's renewal window."""

    kind: Literal["renewal_window"]


class ApplicationFields(RuleBase):
    kind: Literal["application_fields"]
    fields: list[Literal["registration_number", "registration_valid_until", "product"]] = Field(
        min_length=1
    )


# Content rules: checked on the facts the reader found in the documents (document.read).


class ContentDates(RuleBase):
    """Dates declared in metadata (issue_date, expiry_date) agree with the dates the text
    states, and the text shows no expiry before the filing date."""

    kind: Literal["content_dates"]
    document_types: list[str] = Field(min_length=1)
    on_fail: Literal["incomplete", "refused", "warning"] = "warning"


class ContentLanguage(RuleBase):
    """A document declared ``zh`` (or sent as a Chinese translation) is mostly Chinese
    text; one declared ``en`` is English. ``document_types`` unset: every document."""

    kind: Literal["content_language"]
    document_types: list[str] | None = None
    min_chinese_share: float = Field(default=0.5, gt=0, le=1)


class ContentNames(RuleBase):
    """The documents name the exporter (fuzzy score at least ``min_score``), and those of
    ``number_document_types`` carry the registration number being renewed."""

    kind: Literal["content_names"]
    document_types: list[str] = Field(default_factory=list)
    min_score: float = Field(default=85, ge=0, le=100)
    number_document_types: list[str] = Field(default_factory=list)
    on_fail: Literal["incomplete", "refused", "warning"] = "warning"


class ContentCcic(RuleBase):
    """A CCIC certificate's text shows the year and material its metadata declares."""

    kind: Literal["content_ccic"]
    document_types: list[str] = Field(default_factory=lambda: ["ccic_certificate"])
    on_fail: Literal["incomplete", "refused", "warning"] = "warning"


class DistinctPhotos(RuleBase):
    """At least ``min`` photos that are sharp enough and distinct: perceptual hashes more
    than ``min_distance`` bits apart ("more than 10 photos" is min 11)."""

    kind: Literal["distinct_photos"]
    document_type: str
    min: int = Field(ge=1)
    min_distance: int = Field(default=8, ge=0, le=64)
    min_sharpness: float = Field(default=20.0, ge=0)
    requirement_text: str | None = None


CONTENT_RULE_KINDS = (
    "content_dates",
    "content_language",
    "content_names",
    "content_ccic",
    "distinct_photos",
)

Rule = Annotated[
    RequiredDocument
    | Coverage
    | Translation
    | Notarized
    | FileType
    | MetadataFields
    | DateRule
    | Colour
    | RenewalWindowRule
    | ApplicationFields
    | ContentDates
    | ContentLanguage
    | ContentNames
    | ContentCcic
    | DistinctPhotos,
    Field(discriminator="kind"),
]

RULE_KINDS = (
    "required_document",
    "coverage",
    "translation",
    "notarized",
    "file_type",
    "metadata_fields",
    "date",
    "colour",
    "renewal_window",
    "application_fields",
    *CONTENT_RULE_KINDS,
)


def document_types_named(rule: BaseModel) -> list[str]:
    """Every document type a rule refers to (for cross-checks at load)."""
    single = getattr(rule, "document_type", None)
    many = [
        *(getattr(rule, "document_types", None) or []),
        *(getattr(rule, "number_document_types", None) or []),
    ]
    return ([single] if single else []) + list(many)
