"""Pure checks of a submission's envelope: file name, document type, metadata, category."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError


class IntakeError(Exception):
    """A specific reason to reject a submission; ``code`` is part of the partner contract."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Bidi embeddings, overrides, isolates and marks reorder what a reader sees (invoice_fdp.exe
# shown as invoice_exe.pdf); line and paragraph separators break lines like CR/LF.
_BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
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
    """Drop path parts, control and bidi characters and leading dots; keep the original for
    display."""
    name = unicodedata.normalize("NFC", original)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _BIDI.sub("", _UNSAFE.sub("", name)).strip().lstrip(".").strip()
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


def _no_control_characters(value: str) -> str:
    if _UNSAFE.search(value) or _BIDI.search(value):
        raise ValueError("must not contain control characters or bidi overrides")
    return unicodedata.normalize("NFC", value)


# Metadata strings are shown to ops and compared with the catalog: short, single-line text.
MetaText = Annotated[str, Field(max_length=200), AfterValidator(_no_control_characters)]


def _iso_date_only(value: Any) -> Any:
    # pydantic reads a number as seconds since 1970: ``0`` would be a date in 1970.
    if isinstance(value, int | float):
        raise ValueError("must be an ISO date such as 2030-12-31, not a number")
    return value


# Dates as ISO strings only, within years a registration document can carry.
IsoDate = Annotated[
    date, BeforeValidator(_iso_date_only), Field(ge=date(1900, 1, 1), le=date(2200, 12, 31))
]


class DocumentMetadata(BaseModel):
    """Metadata a partner may send with a document (``x-document-meta`` / ``metadata``)."""

    model_config = ConfigDict(extra="forbid")

    issue_date: IsoDate | None = None
    expiry_date: IsoDate | None = None
    language: MetaText | None = None
    # Bounded: an unbounded integer overflows BSON's 64 bits when the document is stored.
    year: int | None = Field(default=None, ge=1900, le=2200)
    material: MetaText | None = None
    translation_of: MetaText | None = None
    notarized: bool | None = None
    colour: bool | None = None


MAX_METADATA_CHARS = 8192


def parse_metadata(raw: Any, *, field: str = "x-document-meta") -> dict[str, Any]:
    """Parse document metadata (a JSON object as a string) into checked metadata."""
    if raw is None or raw == "" or raw == b"":
        return {}
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if isinstance(raw, str) and len(raw) > MAX_METADATA_CHARS:
        raise IntakeError("bad_metadata", f"{field} is over {MAX_METADATA_CHARS} characters.")
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise IntakeError("bad_metadata", f"{field} is not valid JSON: {exc.msg}.") from None
    except (RecursionError, ValueError):  # nesting too deep, an integer of 4300+ digits
        raise IntakeError("bad_metadata", f"{field} is not a plain JSON object.") from None
    if not isinstance(value, dict):
        raise IntakeError("bad_metadata", f"{field} must be a JSON object.")
    try:
        return DocumentMetadata.model_validate(value).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise IntakeError("bad_metadata", f"{field} is invalid: {problems}.") from None
