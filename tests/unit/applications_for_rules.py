"""Builders of stored application and document dicts for the evaluation's unit tests."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

_ids = itertools.count(1)
NOW = datetime(2026, 11, 21, tzinfo=UTC)


def application(
    category: str, kind: str = "new", submitted: date = date(2019, 6, 1), **fields: Any
) -> dict[str, Any]:
    return {
        "_id": f"app_{next(_ids)}",
        "category": category,
        "kind": kind,
        "status": "submitted",
        "created_at": datetime(submitted.year, submitted.month, submitted.day, 9, tzinfo=UTC),
        **fields,
    }


def document(
    document_type: str, content_type: str = "application/pdf", **metadata: Any
) -> dict[str, Any]:
    number = next(_ids)
    facts = metadata.pop("facts", None)
    record: dict[str, Any] = {
        "_id": f"doc_{number}",
        "document_type": document_type,
        "filename": f"{document_type}_{number}.{'pdf' if content_type.endswith('pdf') else 'png'}",
        "content_type": content_type,
        "size": metadata.pop("size", 1000),
        "sha256": f"{number:064x}",
        "metadata": metadata,
    }
    if facts is not None:
        record["facts"] = facts
    return record


def photo(colour: bool = True) -> dict[str, Any]:
    return document("facility_photo", "image/jpeg", facts={"colour": colour})


def notarized_with_translation(document_type: str) -> list[dict[str, Any]]:
    original = document(document_type, language="de", notarized=True, expiry_date="2030-01-01")
    translation = document("chinese_translation", language="zh", translation_of=original["_id"])
    return [original, translation]


def scrap_renewal_documents(
    submitted_year: int = 2019, materials: tuple[str, ...] = ("metal",)
) -> list[dict[str, Any]]:
    """Every document seed 000 lists for a scrap renewal."""
    documents = [document("e_system_account", language="en")]
    for material in materials:
        for year in range(submitted_year - 3, submitted_year):
            documents.append(
                document(
                    "ccic_certificate", year=year, material=material, issue_date=f"{year}-06-01"
                )
            )
    documents += notarized_with_translation("business_registration")
    documents += notarized_with_translation("tax_registration")
    documents += [photo() for _ in range(11)]
    documents.append(document("floor_plan"))
    documents.append(document("certificate_copy", "image/png", facts={"colour": True}))
    return documents


def scrap_renewal(
    submitted: date = date(2019, 3, 1), valid_until: date = date(2020, 6, 30), **fields: Any
) -> dict[str, Any]:
    return application(
        "scrap.metal",
        "renewal",
        submitted,
        registration_number="AQSIQ-A123456789",
        registration_valid_until=datetime(
            valid_until.year, valid_until.month, valid_until.day, tzinfo=UTC
        ),
        **fields,
    )


def food_new_documents(high_risk: bool = True) -> list[dict[str, Any]]:
    documents = [
        document("application_form", language="zh"),
        document("business_licence", language="en", expiry_date="2030-12-31"),
        document("compliance_declaration", language="en"),
    ]
    if high_risk:
        documents += [
            document("recommendation_letter", language="en"),
            document("inspection_report", language="en", issue_date="2023-01-10"),
        ]
    return documents


def food_renewal_documents() -> list[dict[str, Any]]:
    return [
        document("renewal_application_form", language="zh"),
        document("commercial_certificate", language="en", expiry_date="2030-01-01"),
        document("compliance_declaration", language="en"),
    ]
