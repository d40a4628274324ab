"""Facts measured on image bytes (colour or greyscale), for the colour rule."""

from __future__ import annotations

import io

from PIL import Image, ImageChops, UnidentifiedImageError

# JPEG noise makes grey pixels differ by a few levels between channels.
GREY_TOLERANCE = 12
_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})


def is_colour_image(data: bytes) -> bool | None:
    """True for a colour image, False for greyscale, None when the bytes are no image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (256, 256))  # JPEG: decode at reduced size
            if image.mode in _GREY_MODES:
                return False
            image.thumbnail((256, 256))
            rgb = image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    red, green, blue = rgb.split()
    spread = 0
    for first, second in ((red, green), (green, blue)):
        low_high = ImageChops.difference(first, second).getextrema()
        spread = max(spread, int(low_high[1]))  # type: ignore[arg-type]
    return spread > GREY_TOLERANCE
