"""Pure checks of a file's bytes: size, type by magic bytes, readability, sha256.

They read a seekable binary file (an AMQP body wrapped in ``BytesIO`` or an HTTP upload
spooled to disk) in chunks, so a large upload is never copied into memory again.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import warnings
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image
from pypdf import PdfReader
from pypdf.errors import LimitReachedError

from services.intake.checks import IntakeError
from services.intake.pdf_active import active_content

ALLOWED_CONTENT_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", "image/tiff"})
CHUNK_BYTES = 1024 * 1024

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"\xd0\xcf\x11\xe0", "application/msword"),
)
_PILLOW_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/tiff": "TIFF"}


@dataclass(frozen=True)
class ContentFacts:
    """What the bytes of an accepted file are."""

    content_type: str
    size: int
    sha256: str
    flags: tuple[str, ...] = ()


def sniff_content_type(head: bytes) -> str | None:
    """The content type the first bytes reveal, or None when they match nothing known."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    # PDFs may carry a few bytes of junk before the header; readers accept up to 1 KiB.
    if b"%PDF-" in head[:1024]:
        return "application/pdf"
    return None


@dataclass(frozen=True)
class Sniffed:
    """What the cheap checks found: the file's size and its type by magic bytes."""

    content_type: str
    size: int


def inspect_content(
    source: BinaryIO, declared: str, *, max_bytes: int, max_pixels: int
) -> ContentFacts:
    """Check size, type and readability of ``source``; leaves it rewound for storing."""
    sniffed = quick_checks(source, declared, max_bytes=max_bytes)
    return thorough_checks(source, sniffed, max_pixels=max_pixels)


def quick_checks(source: BinaryIO, declared: str, *, max_bytes: int) -> Sniffed:
    """Size, type by magic bytes and polyglots: cheap, and refuse most bad files first."""
    size = source.seek(0, os.SEEK_END)
    if size == 0:
        raise IntakeError("empty_body", "The file is empty: send the file's bytes.")
    if size > max_bytes:
        raise IntakeError("too_large", f"The file is {size} bytes; the limit is {max_bytes} bytes.")
    source.seek(0)
    content_type = check_type(source.read(1024), declared)
    check_not_polyglot(source, content_type)
    source.seek(0)
    return Sniffed(content_type, size)


def thorough_checks(source: BinaryIO, sniffed: Sniffed, *, max_pixels: int) -> ContentFacts:
    """Readability (a PDF parsed, an image decoded) and the sha256; leaves ``source`` rewound."""
    flags = check_readable(source, sniffed.content_type, max_pixels=max_pixels)
    facts = ContentFacts(sniffed.content_type, sniffed.size, sha256_of(source), tuple(flags))
    source.seek(0)
    return facts


# A small PDF whose trailer declares few objects (its /Size counts those in object streams
# too) parses in a few milliseconds: handing it to a thread would cost more than it saves.
# A file lying about its /Size costs at most what QUICK_PDF_BYTES of objects take to parse
# (about 0.3 s). Any other file may take long (a decoded image's size does not follow from
# its bytes), so it is read off the event loop.
QUICK_PDF_BYTES = 256 * 1024
QUICK_PDF_OBJECTS = 400
_TRAILER_SIZE = re.compile(rb"/Size\s+(\d{1,9})")


def quick_to_read(source: BinaryIO, sniffed: Sniffed) -> bool:
    """Whether ``thorough_checks`` is sure to be quick (a small PDF of few objects)."""
    if sniffed.content_type != "application/pdf" or sniffed.size > QUICK_PDF_BYTES:
        return False
    source.seek(max(0, sniffed.size - 1024))
    declared = _TRAILER_SIZE.findall(source.read())
    source.seek(0)
    return bool(declared) and int(declared[-1]) <= QUICK_PDF_OBJECTS


def check_type(head: bytes, declared: str) -> str:
    """The detected type; it must be allowed and agree with the declared one."""
    detected = sniff_content_type(head)
    declared_type = declared.split(";")[0].strip().lower()
    if detected not in (None, "application/pdf") and b"%PDF-" in head:
        raise _polyglot(f"{detected} and a PDF")
    if detected is None or detected not in ALLOWED_CONTENT_TYPES:
        allowed = ", ".join(sorted(ALLOWED_CONTENT_TYPES))
        what = detected or "of an unrecognised format"
        raise IntakeError("unsupported_type", f"The file is {what}; accepted types are {allowed}.")
    if declared_type != detected:
        raise IntakeError(
            "content_type_mismatch",
            f"The declared content type is {declared_type or 'empty'} but the file's bytes "
            f"are {detected}: declare {detected} or send the intended file.",
        )
    return detected


def check_readable(source: BinaryIO, content_type: str, *, max_pixels: int) -> list[str]:
    """Open the file as a reader would; a file no reader can open is refused now.

    Returns flags for ops (active content in a PDF), which do not refuse the file.
    """
    flags = []
    if content_type == "application/pdf":
        flags = _check_pdf(source)
    else:
        _check_image(source, _PILLOW_FORMAT[content_type], max_pixels)
    source.seek(0)
    return flags


# Markup before the PDF header: browsers that sniff would render the file as a web page.
_MARKUP = re.compile(rb"<[!?/]?[a-zA-Z]")


def _polyglot(what: str) -> IntakeError:
    return IntakeError(
        "polyglot_file",
        f"The file is at once {what}: send the document alone, not inside another format.",
    )


def check_not_polyglot(source: BinaryIO, content_type: str) -> None:
    """Refuse a file that is also another format: a ZIP archive (its directory sits at the
    end, after the document) or, for a PDF, a web page before the PDF header."""
    source.seek(0)
    if content_type == "application/pdf":
        prefix = source.read(1024).split(b"%PDF-", 1)[0]
        if _MARKUP.search(prefix):
            raise _polyglot("an HTML page and a PDF")
    source.seek(0)
    try:
        # A real central directory, not four bytes that happen to match: >= 1 valid entry.
        with zipfile.ZipFile(source) as archive:
            is_archive = bool(archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        is_archive = False
    source.seek(0)
    if is_archive:
        raise _polyglot(f"a ZIP archive and {content_type}")


def _check_pdf(source: BinaryIO) -> list[str]:
    reader: PdfReader | None = None
    try:
        reader = PdfReader(source)
        pages = len(reader.pages)
        flags = active_content(reader)
    except LimitReachedError as exc:
        # pypdf's own bounds (page tree entries, decompressed bytes) stop xref, object
        # stream and page tree bombs before they take the memory or the time.
        raise IntakeError(
            "pdf_too_complex", f"The PDF exceeds what regwatch reads ({exc}): send a simpler PDF."
        ) from None
    # pypdf raises many exception types on hostile input; any of them means unreadable.
    except Exception as exc:
        if reader is not None and reader.is_encrypted:
            raise _encrypted() from None
        raise IntakeError(
            "corrupt_file", f"The PDF cannot be read ({type(exc).__name__}: {exc})."
        ) from None
    if pages == 0:
        raise IntakeError("corrupt_file", "The PDF has no pages.")
    # Encrypted with an empty user password: it opens, but ops should know.
    return [*flags, "pdf_encrypted"] if reader.is_encrypted else flags


def _encrypted() -> IntakeError:
    return IntakeError(
        "encrypted_pdf",
        "The PDF is protected by a password, so it cannot be read or checked: "
        "send it without password protection.",
    )


def _check_image(source: BinaryIO, pillow_format: str, max_pixels: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # damaged files are refused below, not warned about
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(source, formats=[pillow_format]) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise _too_many_pixels(width, height, max_pixels)
                image.verify()
            # verify() checks structure only; decoding finds truncated or damaged data.
            source.seek(0)
            with Image.open(source, formats=[pillow_format]) as image:
                image.load()
        except IntakeError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise IntakeError(
                "image_too_large", f"The image has more than {max_pixels} pixels."
            ) from None
        # Pillow raises many exception types on damaged input; any of them means unreadable.
        except Exception as exc:
            raise IntakeError(
                "corrupt_file", f"The {pillow_format} image cannot be read ({exc})."
            ) from None


def _too_many_pixels(width: int, height: int, max_pixels: int) -> IntakeError:
    return IntakeError(
        "image_too_large",
        f"The image is {width}x{height} pixels; the limit is {max_pixels} pixels: "
        "scan at a lower resolution.",
    )


def sha256_of(source: BinaryIO) -> str:
    """The sha256 of the whole file, read in chunks from the start."""
    source.seek(0)
    digest = hashlib.sha256()
    while chunk := source.read(CHUNK_BYTES):
        digest.update(chunk)
    return digest.hexdigest()


def as_file(body: bytes) -> BinaryIO:
    """An AMQP body as a file; ``BytesIO`` shares the bytes until written to."""
    return io.BytesIO(body)
