"""A dead letter's body previewed for people, safely: read, parsed, never run.

The type comes from the bytes (magic numbers), not from the message's content type, which
a sender chooses. A PDF is parsed with pypdf (no script in it runs; pypdf runs none) to
count its pages and find what it carries; its first page is shown as the largest picture
on it (a scan, typically), re-encoded by Pillow. pypdf does not render vector pages, so a
PDF whose first page has no picture is described by its size, pages and first words.
"""

from __future__ import annotations

import io
import json
import re
from typing import Literal

from PIL import Image
from pydantic import BaseModel
from pypdf import PdfReader

PayloadKind = Literal["json", "text", "pdf", "image", "binary", "empty"]
TEXT_CHARS = 20_000
HEX_BYTES = 256
THUMBNAIL_PX = 900
MAX_PDF_BYTES = 30 * 1024 * 1024  # larger ones are only described, never parsed here
MAX_PIXELS = 40_000_000  # Pillow refuses pictures larger than this (decompression bombs)
# Names in a PDF that mean active content or attachments: told, never acted on.
ACTIVE_PDF_NAMES = ("/JavaScript", "/JS", "/OpenAction", "/AA", "/EmbeddedFile", "/Launch")


class PayloadPreview(BaseModel):
    kind: PayloadKind
    media_type: str  # as recognised from the bytes
    declared_type: str | None  # as the message said
    size: int
    text: str | None = None  # json pretty-printed, text as is, binary as a hex dump
    truncated: bool = False
    pages: int | None = None
    pdf_version: str | None = None
    active_content: list[str] = []
    has_picture: bool = False  # an image of the first page (or the image itself) is shown
    note: str | None = None


def sniff(body: bytes) -> str:
    """The media type the bytes themselves show."""
    if body.startswith(b"%PDF-"):
        return "application/pdf"
    if body.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if body.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if body[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    try:
        body[:TEXT_CHARS].decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < TEXT_CHARS - 4:  # not a character cut at the preview's end
            return "application/octet-stream"
    try:
        json.loads(body)
        return "application/json"
    except ValueError:
        return "text/plain"


def hex_dump(body: bytes) -> str:
    lines = []
    for offset in range(0, min(len(body), HEX_BYTES), 16):
        chunk = body[offset : offset + 16]
        shown = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {chunk.hex(' '):<47}  {shown}")
    return "\n".join(lines)


def _pdf_facts(body: bytes, preview: PayloadPreview) -> None:
    reader = PdfReader(io.BytesIO(body), strict=False)
    preview.pages = len(reader.pages)
    preview.pdf_version = reader.pdf_header.removeprefix("%PDF-")
    preview.active_content = [
        name
        for name in ACTIVE_PDF_NAMES
        if re.search(re.escape(name.encode()) + rb"(?![A-Za-z])", body)
    ]
    if reader.pages:
        first = reader.pages[0]
        preview.has_picture = bool(list(first.images))
        words = " ".join((first.extract_text() or "").split())
        preview.text = words[:2000] or None


def describe_payload(body: bytes, declared_type: str | None) -> PayloadPreview:
    """What the body is and a readable start of it; nothing in it is run."""
    media = sniff(body) if body else "application/octet-stream"
    preview = PayloadPreview(kind="binary", media_type=media, declared_type=declared_type, size=0)
    preview.size = len(body)
    if not body:
        preview.kind = "empty"
        return preview
    if media == "application/pdf":
        preview.kind = "pdf"
        if len(body) > MAX_PDF_BYTES:
            preview.note = "too large to parse here; download it to look inside"
            return preview
        try:
            _pdf_facts(body, preview)
        except Exception as exc:  # a damaged PDF is still a payload to describe
            preview.note = f"pypdf could not read it: {type(exc).__name__}: {exc}"
        return preview
    if media.startswith("image/"):
        preview.kind, preview.has_picture = "image", True
        return preview
    if media == "application/octet-stream":
        preview.text, preview.truncated = hex_dump(body), len(body) > HEX_BYTES
        return preview
    text = body[:TEXT_CHARS].decode("utf-8", errors="replace")
    preview.truncated = len(body) > TEXT_CHARS
    if media == "application/json":
        preview.kind, preview.text = "json", json.dumps(json.loads(body), indent=2)[:TEXT_CHARS]
    else:
        preview.kind, preview.text = "text", text
    return preview


def _png(picture: Image.Image) -> bytes:
    picture.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    if picture.mode not in ("RGB", "RGBA", "L"):
        picture = picture.convert("RGB")
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def first_page_picture(body: bytes) -> bytes | None:
    """A PNG of the body's picture: the image itself, or the largest image on a PDF's
    first page; None when there is none. Pillow re-encodes it, so no original byte of the
    payload reaches the browser."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    media = sniff(body)
    try:
        if media.startswith("image/"):
            with Image.open(io.BytesIO(body)) as picture:
                return _png(picture.copy())
        if media == "application/pdf" and len(body) <= MAX_PDF_BYTES:
            page = PdfReader(io.BytesIO(body), strict=False).pages[0]
            images = [i.image for i in page.images if i.image is not None]
            if images:
                return _png(max(images, key=lambda i: i.width * i.height))
    except Exception:  # damaged or hostile: no picture, the facts are still shown
        return None
    return None
