"""Tesseract OCR of one image, bounded in time and size."""

from __future__ import annotations

import re

import pytesseract
from PIL import Image

MAX_SIDE = 2500  # pixels: larger scans are scaled down (300 dpi A4 is 2480 wide)
# Tesseract's Chinese model puts a space between ideographs; the text has none.
_SPACED_IDEOGRAPHS = re.compile(r"(?<=[\u3400-\u9fff])[ \t]+(?=[\u3400-\u9fff])")


class OcrTimeout(Exception):
    """Tesseract did not finish within the time left for the document."""


def ocr_text(image: Image.Image, *, languages: str, timeout: float) -> str:
    """The text Tesseract reads in ``image`` (greyscale, scaled to at most MAX_SIDE)."""
    grey = image.convert("L")
    if max(grey.size) > MAX_SIDE:
        grey.thumbnail((MAX_SIDE, MAX_SIDE))
    try:
        text = str(pytesseract.image_to_string(grey, lang=languages, timeout=max(timeout, 1)))
    except RuntimeError as exc:  # pytesseract's way of saying the timeout was reached
        if "timeout" in str(exc).lower():
            raise OcrTimeout(str(exc)) from None
        raise
    return _SPACED_IDEOGRAPHS.sub("", text)
