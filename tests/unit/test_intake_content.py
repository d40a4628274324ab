"""The pure content checks: size, magic bytes, allowed types, readability, sha256."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from services.intake.checks import IntakeError
from services.intake.content import (
    QUICK_PDF_BYTES,
    QUICK_PDF_OBJECTS,
    as_file,
    inspect_content,
    quick_checks,
    quick_to_read,
)
from tests.support import sample_image, sample_pdf

LIMIT = 1024 * 1024
PIXELS = 10_000_000


def inspect(body: bytes, declared: str, *, max_bytes: int = LIMIT, max_pixels: int = PIXELS):
    return inspect_content(as_file(body), declared, max_bytes=max_bytes, max_pixels=max_pixels)


def code_of(body: bytes, declared: str, **limits: int) -> str:
    with pytest.raises(IntakeError) as caught:
        inspect(body, declared, **limits)
    return caught.value.code


def test_valid_pdf_yields_type_size_and_sha256() -> None:
    body = sample_pdf("unit")
    facts = inspect(body, "application/pdf")
    assert facts.content_type == "application/pdf"
    assert facts.size == len(body)
    assert facts.sha256 == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("TIFF", "image/tiff")]
)
def test_valid_images_are_accepted(fmt: str, content_type: str) -> None:
    assert inspect(sample_image(fmt), content_type).content_type == content_type


def test_declared_type_parameters_are_ignored() -> None:
    assert (
        inspect(sample_pdf(), "Application/PDF; charset=binary").content_type == "application/pdf"
    )


def test_source_is_rewound_for_storing() -> None:
    source = as_file(sample_pdf())
    inspect_content(source, "application/pdf", max_bytes=LIMIT, max_pixels=PIXELS)
    assert source.tell() == 0


def test_empty_body_is_refused() -> None:
    assert code_of(b"", "application/pdf") == "empty_body"


def test_body_over_the_limit_is_refused() -> None:
    assert code_of(sample_pdf(), "application/pdf", max_bytes=100) == "too_large"


def test_declared_type_contradicted_by_magic_bytes_is_refused() -> None:
    assert code_of(sample_image("PNG"), "application/pdf") == "content_type_mismatch"


@pytest.mark.parametrize(
    "body",
    [b"GIF89a" + b"\x00" * 40, b"PK\x03\x04rest of a zip", b"just some text, no file"],
)
def test_types_outside_the_allowed_set_are_refused(body: bytes) -> None:
    assert code_of(body, "application/pdf") == "unsupported_type"


def test_pdf_header_with_garbage_is_corrupt() -> None:
    assert code_of(b"%PDF-1.7\n" + b"\x00garbage" * 200, "application/pdf") == "corrupt_file"


def test_truncated_png_is_corrupt() -> None:
    body = sample_image("PNG")
    assert code_of(body[: len(body) // 2], "image/png") == "corrupt_file"


def test_truncated_jpeg_is_corrupt() -> None:
    image = Image.effect_noise((256, 256), 64).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    body = buffer.getvalue()
    assert code_of(body[: len(body) // 3], "image/jpeg") == "corrupt_file"


def test_image_over_the_pixel_limit_is_refused_before_decoding() -> None:
    image = Image.new("L", (4000, 3000))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    assert code_of(buffer.getvalue(), "image/png", max_pixels=1_000_000) == "image_too_large"


def quick(body: bytes, declared: str) -> bool:
    source = as_file(body)
    quick = quick_to_read(source, quick_checks(source, declared, max_bytes=LIMIT))
    assert source.tell() == 0  # rewound for the thorough checks
    return quick


def test_a_small_pdf_of_few_objects_is_read_on_the_event_loop() -> None:
    assert quick(sample_pdf("small"), "application/pdf")


def test_a_pdf_of_many_pages_or_many_bytes_is_read_in_a_thread() -> None:
    many = sample_pdf("many", pages=QUICK_PDF_OBJECTS)  # each page is several objects
    assert not quick(many, "application/pdf")
    large = sample_pdf("large") + b"%" + b"x" * QUICK_PDF_BYTES  # a comment pads it
    assert not quick(large, "application/pdf")


def test_a_pdf_without_a_readable_trailer_is_read_in_a_thread() -> None:
    body = sample_pdf("cut")
    assert not quick(body[: body.rindex(b"trailer")], "application/pdf")


def test_images_are_decoded_in_a_thread() -> None:
    assert not quick(sample_image("PNG"), "image/png")
