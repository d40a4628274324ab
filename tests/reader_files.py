"""Real files for the reader's tests: PDFs with a text layer (fpdf2), scans rendered with
Debian's fonts (Pillow) for Tesseract, photos, near-duplicates, a blank page, a corrupt PDF."""

from __future__ import annotations

import io
import random
import warnings
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CHINESE_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def text_pdf(lines: list[str], *, chinese: bool = False) -> bytes:
    """A one-page PDF whose text layer holds ``lines``."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fontTools on the collection file: not subset
        pdf.add_font("body", "", str(CHINESE_FONT if chinese else LATIN_FONT))
    pdf.set_font("body", size=12)
    for line in lines:
        pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def scan_image(lines: list[str], *, chinese: bool = False, size: int = 0) -> Image.Image:
    """``lines`` rendered black on white, as a scanner would see a printed page."""
    size = size or (36 if chinese else 28)  # Tesseract reads small ideographs poorly
    font = ImageFont.truetype(str(CHINESE_FONT if chinese else LATIN_FONT), size)
    image = Image.new("L", (1000, 60 + len(lines) * (size + 22)), 255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((40, 30 + number * (size + 22)), line, font=font, fill=0)
    return image


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def scan_pdf(lines: list[str], *, chinese: bool = False) -> bytes:
    """A one-page PDF holding only an image of ``lines``: no text layer."""
    return image_pdf(scan_image(lines, chinese=chinese))


def image_pdf(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PDF", resolution=150)
    return buffer.getvalue()


def blank_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def corrupt_pdf() -> bytes:
    """A file that starts like a PDF and is cut short: no cross-reference, no pages."""
    return text_pdf(["Business Registration"])[:300]


def photo(seed: int, size: int = 320) -> Image.Image:
    """A sharp photo-like image: random coloured shapes, different for each seed."""
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x, y = rng.randrange(size), rng.randrange(size)
        w, h = rng.randrange(20, size // 2), rng.randrange(20, size // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.rectangle((x, y, x + w, y + h), fill=colour)
        else:
            draw.ellipse((x, y, x + w, y + h), fill=colour)
    return image


def near_duplicate(image: Image.Image) -> Image.Image:
    """The same scene taken again: slightly brighter, cropped by a few pixels, re-encoded."""
    width, height = image.size
    again = ImageEnhance.Brightness(image).enhance(1.08).crop((4, 4, width - 4, height - 4))
    return Image.open(io.BytesIO(jpeg(again, quality=80)))


def blurred(image: Image.Image) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius=10))
