"""The evaluation's inputs, read once from the stored application and document dicts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from shared.domain.calendar import authority_date
from shared.domain.reading import ReadingFacts


def as_date(value: Any) -> date | None:
    """A date from a stored date, datetime or ISO string (None when absent or unreadable)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


@dataclass(frozen=True)
class DocumentFacts:
    id: str
    document_type: str
    filename: str
    content_type: str
    size: int
    metadata: dict[str, Any]
    colour: bool | None  # measured on the image bytes; None when not measured
    reading: ReadingFacts | None = None  # what the reader found; None while being read

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> DocumentFacts:
        facts = record.get("facts") or {}
        reading = record.get("reading")
        return cls(
            id=str(record["_id"]),
            document_type=record["document_type"],
            filename=record.get("filename", str(record["_id"])),
            content_type=record.get("content_type", ""),
            size=int(record.get("size", 0)),
            metadata=dict(record.get("metadata") or {}),
            colour=facts.get("colour"),
            reading=ReadingFacts.model_validate(reading) if reading else None,
        )


@dataclass(frozen=True)
class ApplicationFacts:
    id: str
    category: str
    kind: str
    product: str | None
    via_agent: bool
    materials: list[str]
    registration_number: str | None
    registration_valid_until: date | None
    submitted_on: date
    exporter_name: str | None = None

    @classmethod
    def from_record(cls, record: dict[str, Any], now: datetime) -> ApplicationFacts:
        submitted = record.get("submitted_at") or record.get("created_at") or now
        if record.get("status") == "waiting_for_window":
            submitted = now  # it is filed when it leaves the wait, so judge it as of today
        category = record["category"]
        product = record.get("product")
        # The materials a scrap exporter registered; by default its product or category.
        materials = record.get("materials") or [product or category.split(".", 1)[-1]]
        return cls(
            id=str(record["_id"]),
            category=category,
            kind=record.get("kind", "new"),
            product=product,
            via_agent=bool(record.get("via_agent", False)),
            materials=[str(m).lower() for m in materials],
            registration_number=record.get("registration_number"),
            registration_valid_until=as_date(record.get("registration_valid_until")),
            submitted_on=authority_date(submitted if isinstance(submitted, datetime) else now),
            exporter_name=(record.get("exporter") or {}).get("name"),
        )

    def regime_date(self) -> date:
        """The regime in force on the filing date judges a filing, renewals included."""
        return self.submitted_on


@dataclass
class Documents:
    """The application's documents, indexed once for every rule."""

    all: list[DocumentFacts]
    by_type: dict[str, list[DocumentFacts]] = field(default_factory=dict)
    translations_of: dict[str, list[DocumentFacts]] = field(default_factory=dict)

    @classmethod
    def from_records(cls, records: list[dict[str, Any]]) -> Documents:
        documents = [DocumentFacts.from_record(r) for r in records]
        by_type: dict[str, list[DocumentFacts]] = defaultdict(list)
        translations: dict[str, list[DocumentFacts]] = defaultdict(list)
        for document in sorted(documents, key=lambda d: (d.filename, d.id)):
            by_type[document.document_type].append(document)
            target = document.metadata.get("translation_of")
            if document.document_type == "chinese_translation" and target:
                translations[str(target)].append(document)
        return cls(documents, dict(by_type), dict(translations))

    def of_types(self, types: list[str] | None) -> list[DocumentFacts]:
        if types is None:
            return self.all
        return [d for t in types for d in self.by_type.get(t, [])]
