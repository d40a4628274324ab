"""Pure checks of a submission's envelope: file name, document type, metadata, category."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


class IntakeError(Exception):
    """A specific reason to reject a submission; ``code`` is part of the partner contract."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_FILENAME_CHARS = 200


@dataclass(frozen=True)
class Filename:
    """A file name safe to store and serve, and whether it had to be changed."""

    safe: str
    original: str

    @property
    def sanitised(self) -> bool:
        return self.safe != self.original


def sanitize_filename(original: str) -> Filename:
    """Drop path parts, control characters and leading dots; keep the original for display."""
    name = unicodedata.normalize("NFC", original)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("", name).strip().lstrip(".").strip()
    if not name:
        raise IntakeError(
            "bad_filename",
            f"The file name {original!r} has no usable name once path parts and control "
            "characters are removed; send a plain name such as licence.pdf.",
        )
    return Filename(safe=name[:MAX_FILENAME_CHARS], original=original)


# The form of a document type is checked before the catalog is asked about it.
_DOCUMENT_TYPE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


def check_document_type_form(document_type: str) -> None:
    """A document type is a lower-case identifier such as ``business_licence``."""
    if not _DOCUMENT_TYPE.match(document_type):
        raise IntakeError(
            "unknown_document_type",
            f"The document type {document_type!r} is unknown: use a lower-case identifier "
            "from the requirements catalog, e.g. business_licence.",
        )


class DocumentMetadata(BaseModel):
    """Metadata a partner may send with a document (``x-document-meta`` / ``metadata``)."""

    model_config = ConfigDict(extra="forbid")

    issue_date: date | None = None
    expiry_date: date | None = None
    language: str | None = None
    year: int | None = None
    material: str | None = None
    translation_of: str | None = None
    notarized: bool | None = None
    colour: bool | None = None


def parse_metadata(raw: Any, *, field: str = "x-document-meta") -> dict[str, Any]:
    """Parse document metadata (a JSON object as a string) into checked metadata."""
    if raw is None or raw == "" or raw == b"":
        return {}
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise IntakeError("bad_metadata", f"{field} is not valid JSON: {exc.msg}.") from None
    if not isinstance(value, dict):
        raise IntakeError("bad_metadata", f"{field} must be a JSON object.")
    try:
        return DocumentMetadata.model_validate(value).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise IntakeError("bad_metadata", f"{field} is invalid: {problems}.") from None
