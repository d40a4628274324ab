"""A digest of everything an evaluation depends on, so equal inputs are recognised."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from shared.domain.catalog import Catalog

APPLICATION_FIELDS = (
    "_id",
    "category",
    "product",
    "kind",
    "status",
    "via_agent",
    "materials",
    "registration_number",
    "registration_valid_until",
    "submitted_at",
    "created_at",
)


def fingerprint(
    catalog: Catalog,
    application: dict[str, Any],
    documents: list[dict[str, Any]],
    evaluated_on: date | None = None,
) -> str:
    """sha256 over the catalog, the application's relevant fields, every document and the
    day the rules were applied at (a waiting renewal is judged anew on its opening day)."""
    material = {
        "catalog": [catalog.version, catalog.digest],
        "on": evaluated_on,
        "application": {f: application.get(f) for f in APPLICATION_FIELDS},
        "documents": sorted(
            [
                str(d["_id"]),
                d.get("sha256"),
                d.get("document_type"),
                d.get("content_type"),
                d.get("metadata") or {},
                (d.get("facts") or {}).get("colour"),
                (d.get("reading") or {}).get("status"),  # read once: None until then
            ]
            for d in documents
        ),
    }
    encoded = json.dumps(material, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()
