"""Document facts as stored in ``document_facts`` (one record per document)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DateLabel = Literal["issue", "expiry"]
ReadStatus = Literal["read", "unreadable"]


class FoundDate(BaseModel):
    """A date the text states, with what it is a date of (when the words around it say)."""

    day: date
    label: DateLabel | None = None
    page: int  # 1-based
    quote: str  # the words around the date, as read


class NameMatch(BaseModel):
    """How well the text names the exporter: the best-matching line and its score (0-100)."""

    exporter: str
    found: str | None = None
    score: float = 0.0
    page: int | None = None


class PhotoFacts(BaseModel):
    """What an image looks like: a perceptual hash (hex) and a sharpness measure."""

    phash: str
    sharpness: float  # variance of the Laplacian on a 512-pixel greyscale copy
    width: int
    height: int


class ReadingFacts(BaseModel):
    """What the reader found in one document; ``status`` is ``unreadable`` with a reason
    when the bytes could not be read (the document itself stays)."""

    model_config = ConfigDict(populate_by_name=True)

    document_id: str = Field(alias="_id")
    application_id: str
    sha256: str
    document_type: str
    filename: str
    status: ReadStatus
    reason: str | None = None
    pages: int = 0
    pages_read: int = 0
    ocr_pages: list[int] = Field(default_factory=list)  # 1-based pages read by OCR
    limits: list[str] = Field(default_factory=list)  # page cap or time limit reached
    text: str = ""  # size-capped; ``text_truncated`` says when
    text_truncated: bool = False
    language: str | None = None  # ISO 639-1 of the detected language
    chinese_share: float = 0.0  # share of CJK characters among letters
    dates: list[FoundDate] = Field(default_factory=list)
    numbers: list[str] = Field(default_factory=list)  # registration-like numbers, as written
    exporter: NameMatch | None = None
    photo: PhotoFacts | None = None
    read_at: datetime
    seconds: float = 0.0

    @property
    def excerpt(self) -> str:
        """The first words of the text, for a message or a page."""
        flat = " ".join(self.text.split())
        return flat[:120] + ("..." if len(flat) > 120 else "")
