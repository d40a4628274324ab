"""Text and pixels out of a document's bytes: the PDF text layer, else Tesseract OCR.

Bounded: at most ``page_cap`` pages and ``time_limit`` seconds per document, and no page
whose content stream is beyond ``MAX_PAGE_CONTENT_BYTES``; what was not read is said in
``limits``. The time limit is checked here between pages and given to Tesseract; the hard
limit, which stops one pathological page too, is the reader's killing of the child process
this runs in (services.reader.isolated). A file that cannot be opened is ``unreadable`` with
the reason.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image, UnidentifiedImageError
from pypdf import PageObject, PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject

from services.reader.ocr import OcrTimeout, ocr_text
from services.reader.photos import photo_facts
from shared.domain.reading import PhotoFacts

log = logging.getLogger("regwatch.reader")

MIN_TEXT_LAYER = 20  # characters: a page with fewer has no text layer worth the name
IMAGES_PER_PAGE = 3  # a scanned page is one image; a few more are logos and stamps
# A dense page of text is tens of KiB of content; megabytes are drawings or a bomb whose
# text extraction alone would take minutes and gigabytes.
MAX_PAGE_CONTENT_BYTES = 2 * 1024 * 1024


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


Progress = Callable[[Extraction], None]


def extract(
    data: bytes,
    content_type: str,
    limits: ReadLimits,
    *,
    ocr_images: bool,
    progress: Progress | None = None,
) -> Extraction:
    """Read ``data``; ``ocr_images`` False reads a photo's pixels only, not its text.

    ``progress`` is given what was read so far after each page (and a photo's facts before
    its OCR): the reader keeps it when it has to stop the reading (services.reader.isolated).
    """
    deadline = time.monotonic() + limits.time_limit
    report = progress or (lambda _: None)
    if content_type == "application/pdf":
        return _read_pdf(data, limits, deadline, report)
    if content_type.startswith("image/"):
        return _read_image(data, limits, deadline, ocr_images, report)
    return Extraction(unreadable=f"{content_type} files are not read")


def _read_pdf(data: bytes, limits: ReadLimits, deadline: float, report: Progress) -> Extraction:
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = list(reader.pages)
    except (PyPdfError, ValueError, OSError, KeyError, TypeError) as exc:
        return Extraction(unreadable=f"the PDF cannot be opened: {exc}")
    found = Extraction(page_count=len(pages))
    report(found)
    for number, page in enumerate(pages[: limits.page_cap], start=1):
        if time.monotonic() > deadline:
            found.limits.append(
                f"time limit: {limits.time_limit:.0f} s reached after {number - 1} pages"
            )
            break
        if not _content_within_bounds(page):
            found.limits.append(
                f"page {number}: content over {MAX_PAGE_CONTENT_BYTES} bytes, not read"
            )
            found.pages.append("")
            report(found)
            continue
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
        report(found)
    if len(pages) > limits.page_cap:
        found.limits.append(f"page cap: {limits.page_cap} of {len(pages)} pages read")
    return found


def _content_within_bounds(page: PageObject) -> bool:
    """Whether the page's decoded content streams stay within the limit (pypdf bounds each
    decompression; a page naming one stream many times stops at the limit)."""
    try:
        contents = page.get("/Contents")
        if contents is None:  # a blank page
            return True
        contents = contents.get_object()
        streams = contents if isinstance(contents, ArrayObject) else [contents]
        total = 0
        for stream in streams:
            total += len(stream.get_object().get_data())
            if total > MAX_PAGE_CONTENT_BYTES:
                return False
    except Exception as exc:  # a stream pypdf refuses to decode (bomb, damage) is not read
        log.warning("page content unreadable: %s", exc)
        return False
    return True


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


def _read_image(
    data: bytes, limits: ReadLimits, deadline: float, ocr_images: bool, report: Progress
) -> Extraction:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            photo = photo_facts(image)
            found = Extraction(page_count=1, photo=photo)
            if ocr_images:
                report(found)
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
