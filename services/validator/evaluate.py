"""The pure core of validation: (application, documents, now) -> verdict and rule outcomes."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

ACCEPTED_FILE_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", "image/tiff"})
BASELINE_VERSION = "baseline-1"


class RuleOutcome(BaseModel):
    rule: str
    passed: bool
    message: str
    source: str | None = None


class Evaluation(BaseModel):
    verdict: Literal["complete", "incomplete", "refused"]
    outcomes: list[RuleOutcome]
    missing: list[str]
    catalog_version: str


def fingerprint(application: dict[str, Any], documents: list[dict[str, Any]], version: str) -> str:
    """A digest of everything the evaluation depends on, so equal inputs are recognised."""
    material = {
        "application": application["_id"],
        "category": application.get("category"),
        "kind": application.get("kind"),
        "status": application.get("status"),
        "documents": sorted((str(d["_id"]), d["sha256"]) for d in documents),
        "version": version,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def evaluate_file_types(
    application: dict[str, Any], documents: list[dict[str, Any]], now: datetime
) -> Evaluation:
    """The baseline rule: every document is a file type the authority accepts."""
    outcomes = []
    for document in documents:
        ok = document["content_type"] in ACCEPTED_FILE_TYPES
        outcomes.append(
            RuleOutcome(
                rule="file_type",
                passed=ok,
                message=(
                    f"{document['filename']} is {document['content_type']}"
                    + ("" if ok else ", which is not an accepted file type")
                ),
            )
        )
    if not documents:
        outcomes.append(RuleOutcome(rule="documents", passed=False, message="No documents yet"))
    missing = [o.message for o in outcomes if not o.passed]
    return Evaluation(
        verdict="complete" if not missing else "incomplete",
        outcomes=outcomes,
        missing=missing,
        catalog_version=BASELINE_VERSION,
    )
