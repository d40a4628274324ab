"""The requirements catalog as pydantic models: regimes, categories, document types, rules."""

from __future__ import annotations

from datetime import date
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.catalog.rules import Rule

ApplicationKind = Literal["new", "renewal", "change"]
WindowKind = Literal["renewal", "additional_materials", "rectification", "processing"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DocumentType(Strict):
    id: str
    name: str
    plural: str
    source: str


class Product(Strict):
    id: str
    name: str


class Category(Strict):
    id: str = Field(pattern=r"^(scrap|food)\.[a-z0-9_]+$")
    name: str
    family: Literal["scrap", "food"]
    high_risk: bool = False
    products: list[Product] = Field(default_factory=list)
    source: str


class RenewalWindow(Strict):
    """Renewal applications are accepted from ``opens`` until ``closes`` before expiry."""

    opens_months_before_expiry: int | None = Field(ge=1)
    closes_months_before_expiry: int = Field(ge=0)
    automatic: bool = False
    automatic_exceptions: list[str] = Field(default_factory=list)
    # One "your window opens on ..." notice this many days before it opens.
    opening_notice_days: int = Field(default=30, ge=1)
    opening_notice_source: str | None = None
    # True while the figures are regwatch's settings, not yet checked against the
    # regime's own text (Decree 280): shown as such, never cited as the decree's words.
    unconfirmed: bool = False
    source: str

    @model_validator(mode="after")
    def _opens_before_it_closes(self) -> RenewalWindow:
        opens = self.opens_months_before_expiry
        if opens is not None and opens <= self.closes_months_before_expiry:
            raise ValueError("the renewal window must open before it closes")
        return self


class ProcessingTime(Strict):
    min: int = Field(ge=0)
    max: int = Field(ge=1)


class Windows(Strict):
    validity_years: int = Field(ge=1)
    validity_source: str
    renewal: RenewalWindow
    additional_materials_days: int | None = Field(ge=1)
    additional_materials_source: str | None = None
    rectification_days: int | None = Field(ge=1)
    rectification_source: str | None = None
    processing_days: ProcessingTime | None = None
    processing_source: str | None = None
    reminder_offsets_days: dict[WindowKind, list[int]]
    on_missed: dict[WindowKind, str | None]
    on_missed_source: str

    def days_for(self, kind: WindowKind) -> int | None:
        """Length of an application window in days (None: the regime sets none)."""
        if kind == "additional_materials":
            return self.additional_materials_days
        if kind == "rectification":
            return self.rectification_days
        if kind == "processing":
            return self.processing_days.max if self.processing_days else None
        return None

    def source_for(self, kind: WindowKind) -> str:
        return {
            "additional_materials": self.additional_materials_source,
            "rectification": self.rectification_source,
            "processing": self.processing_source,
            "renewal": self.renewal.source,
        }.get(kind) or self.validity_source


class Closure(Strict):
    """The announcement that a regime will end for good (no regime after it for its
    categories): from ``announced_on`` to its last day in force, a registration, new or
    renewed, can carry exports only up to that last day."""

    announced_on: date
    notice: str  # what the emails quote until the end, in the catalog's words
    source: str


class Regime(Strict):
    id: str
    name: str
    categories: list[str] = Field(min_length=1)  # patterns such as "scrap.*"
    in_force_from: date | None
    in_force_until: date | None
    closed_reason: str | None = None
    closure: Closure | None = None  # its end for good was announced
    source: str
    windows: Windows

    @model_validator(mode="after")
    def _closure_announced_before_the_end(self) -> Regime:
        if self.closure is None:
            return self
        if self.in_force_until is None:
            raise ValueError("a closure needs the regime's last day (in_force_until)")
        if self.closure.announced_on > self.in_force_until:
            raise ValueError("a closure is announced on or before the regime's last day")
        return self

    def covers(self, category: str) -> bool:
        return any(fnmatchcase(category, pattern) for pattern in self.categories)

    def in_force_on(self, day: date) -> bool:
        starts = self.in_force_from is None or self.in_force_from <= day
        return starts and (self.in_force_until is None or day <= self.in_force_until)


class RequirementSet(Strict):
    """Rules for the categories and kinds it names, under the regimes it names."""

    id: str
    regimes: list[str] = Field(min_length=1)  # ids, or "*" for every regime
    categories: list[str] = Field(min_length=1)  # patterns
    kinds: list[ApplicationKind] = Field(min_length=1)
    high_risk: bool | None = None
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _rule_ids_unique(self) -> RequirementSet:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} appears twice")
            seen.add(rule.id)
        return self

    def applies(self, regime: str | None, category: Category, kind: str) -> bool:
        regime_ok = "*" in self.regimes or (regime is not None and regime in self.regimes)
        risk_ok = self.high_risk is None or self.high_risk == category.high_risk
        category_ok = any(fnmatchcase(category.id, p) for p in self.categories)
        return regime_ok and risk_ok and category_ok and kind in self.kinds


class CatalogFile(Strict):
    """One YAML file of the set; each section may appear in any file."""

    document_types: list[DocumentType] = Field(default_factory=list)
    categories: list[Category] = Field(default_factory=list)
    regimes: list[Regime] = Field(default_factory=list)
    requirement_sets: list[RequirementSet] = Field(default_factory=list)


class CatalogIndex(Strict):
    """``catalog.yaml``: the version of the whole set and the files in it."""

    version: str = Field(min_length=1)
    published_on: date
    files: list[str] = Field(min_length=1)
