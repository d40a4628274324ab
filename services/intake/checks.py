"""Pure checks at the edge: what a submitted file is, and whether its envelope is sound."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

ALLOWED_CONTENT_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", "image/tiff"})

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
)


class IntakeError(Exception):
    """A specific reason to reject a submission; ``code`` is part of the partner contract."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def sniff_content_type(head: bytes) -> str | None:
    """The content type the first bytes reveal, or None when they match nothing known."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    # PDFs may carry a few bytes of junk before the header; readers accept up to 1 KiB.
    if b"%PDF-" in head[:1024]:
        return "application/pdf"
    return None


def check_content(body: bytes, declared: str, max_bytes: int) -> str:
    """Check size and type of ``body``; return the detected content type."""
    if not body:
        raise IntakeError("empty_body", "The message body is empty: send the file's bytes.")
    if len(body) > max_bytes:
        raise IntakeError(
            "too_large",
            f"The file is {len(body)} bytes; the limit is {max_bytes} bytes.",
        )
    detected = sniff_content_type(body[:1024])
    declared_type = declared.split(";")[0].strip().lower()
    if detected is None or detected not in ALLOWED_CONTENT_TYPES:
        allowed = ", ".join(sorted(ALLOWED_CONTENT_TYPES))
        what = detected or "an unrecognised format"
        raise IntakeError("unsupported_type", f"The file is {what}; accepted types are {allowed}.")
    if declared_type != detected:
        raise IntakeError(
            "content_type_mismatch",
            f"content_type says {declared_type or 'nothing'} but the file is {detected}.",
        )
    return detected


_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def sanitize_filename(original: str) -> str:
    """A safe file name: no path parts, no control characters, at most 200 characters."""
    name = unicodedata.normalize("NFC", original)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("", name).strip().lstrip(".")
    if not name:
        raise IntakeError("bad_filename", f"The file name {original!r} has no usable name.")
    return name[:200]


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


def parse_metadata(raw: Any) -> dict[str, Any]:
    """Parse ``x-document-meta`` (a JSON object as a string) into checked metadata."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        message = f"x-document-meta is not valid JSON: {exc.msg}."
        raise IntakeError("bad_metadata", message) from None
    if not isinstance(value, dict):
        raise IntakeError("bad_metadata", "x-document-meta must be a JSON object.")
    try:
        return DocumentMetadata.model_validate(value).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise IntakeError("bad_metadata", f"x-document-meta is invalid: {problems}.") from None
