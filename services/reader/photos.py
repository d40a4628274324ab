"""What a photo looks like: a perceptual hash and a sharpness measure."""

from __future__ import annotations

import imagehash
import numpy as np
from PIL import Image

from shared.domain.reading import PhotoFacts

SHARPNESS_SIDE = 512  # measured on a copy this size, so the measure does not depend on size


def photo_facts(image: Image.Image) -> PhotoFacts:
    """The perceptual hash (64 bits, hex) and the variance of the Laplacian (sharpness)."""
    width, height = image.size
    grey = image.convert("L")
    grey.thumbnail((SHARPNESS_SIDE, SHARPNESS_SIDE))
    pixels = np.asarray(grey, dtype=np.float64)
    laplacian = (
        pixels[1:-1, :-2] + pixels[1:-1, 2:] + pixels[:-2, 1:-1] + pixels[2:, 1:-1]
    ) - 4 * pixels[1:-1, 1:-1]
    sharpness = float(laplacian.var()) if laplacian.size else 0.0
    return PhotoFacts(
        phash=str(imagehash.phash(image)), sharpness=round(sharpness, 1), width=width, height=height
    )
