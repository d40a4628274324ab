"""Text and pixels out of a document's bytes: the PDF text layer, else Tesseract OCR.

Bounded: at most ``page_cap`` pages and ``time_limit`` seconds per document; what was not
read is said in ``limits``. A file that cannot be opened is ``unreadable`` with the reason.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass, field

from PIL import Image, UnidentifiedImageError
from pypdf import PageObject, PdfReader
from pypdf.errors import PyPdfError

from services.reader.ocr import OcrTimeout, ocr_text
from services.reader.photos import photo_facts
from shared.domain.reading import PhotoFacts

log = logging.getLogger("regwatch.reader")

MIN_TEXT_LAYER = 20  # characters: a page with fewer has no text layer worth the name
IMAGES_PER_PAGE = 3  # a scanned page is one image; a few more are logos and stamps


@dataclass(frozen=True)
class ReadLimits:
    page_cap: int
    time_limit: float
    ocr_languages: str


@dataclass
class Extraction:
    """What was read: one text per page read, and the photo's facts for an image."""

    pages: list[str] = field(default_factory=list)
    page_count: int = 0
    ocr_pages: list[int] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)
    photo: PhotoFacts | None = None
    unreadable: str | None = None


def extract(data: bytes, content_type: str, limits: ReadLimits, *, ocr_images: bool) -> Extraction:
    """Read ``data``; ``ocr_images`` False reads a photo's pixels only, not its text."""
    deadline = time.monotonic() + limits.time_limit
    if content_type == "application/pdf":
        return _read_pdf(data, limits, deadline)
    if content_type.startswith("image/"):
        return _read_image(data, limits, deadline, ocr_images)
    return Extraction(unreadable=f"{content_type} files are not read")


def _read_pdf(data: bytes, limits: ReadLimits, deadline: float) -> Extraction:
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = list(reader.pages)
    except (PyPdfError, ValueError, OSError, KeyError, TypeError) as exc:
        return Extraction(unreadable=f"the PDF cannot be opened: {exc}")
    found = Extraction(page_count=len(pages))
    for number, page in enumerate(pages[: limits.page_cap], start=1):
        if time.monotonic() > deadline:
            found.limits.append(
                f"time limit: {limits.time_limit:.0f} s reached after {number - 1} pages"
            )
            break
        try:
            text = page.extract_text() or ""
        except Exception as exc:  # pypdf raises many kinds on damaged content streams
            log.warning("page %d: text layer unreadable: %s", number, exc)
            text = ""
        if len(text.strip()) < MIN_TEXT_LAYER:
            scanned = _ocr_page_images(page, limits, deadline, found)
            if scanned:
                text = scanned
                found.ocr_pages.append(number)
        found.pages.append(text)
    if len(pages) > limits.page_cap:
        found.limits.append(f"page cap: {limits.page_cap} of {len(pages)} pages read")
    return found


def _ocr_page_images(
    page: PageObject, limits: ReadLimits, deadline: float, found: Extraction
) -> str:
    """OCR of the images on a page without a text layer (a scan is an image on a page)."""
    texts: list[str] = []
    try:
        images = list(page.images)[:IMAGES_PER_PAGE]
    except Exception as exc:
        log.warning("page images unreadable: %s", exc)
        return ""
    for embedded in images:
        try:
            texts.append(_ocr(embedded.image, limits, deadline))
        except OcrTimeout:
            found.limits.append(f"time limit: {limits.time_limit:.0f} s reached during OCR")
            break
        except Exception as exc:
            log.warning("page image unreadable: %s", exc)
    return "\n".join(t for t in texts if t.strip())


def _read_image(data: bytes, limits: ReadLimits, deadline: float, ocr_images: bool) -> Extraction:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            photo = photo_facts(image)
            found = Extraction(page_count=1, photo=photo)
            if ocr_images:
                try:
                    found.pages.append(_ocr(image, limits, deadline))
                    found.ocr_pages.append(1)
                except OcrTimeout:
                    found.limits.append(f"time limit: {limits.time_limit:.0f} s reached during OCR")
            return found
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        return Extraction(unreadable=f"the image cannot be opened: {exc}")


def _ocr(image: Image.Image | None, limits: ReadLimits, deadline: float) -> str:
    if image is None:
        return ""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise OcrTimeout("no time left")
    return ocr_text(image, languages=limits.ocr_languages, timeout=remaining)
