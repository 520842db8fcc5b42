"""PNG encoding of generated digits; deterministic, so the same pixels give the same bytes."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

GRID_GAP = 2  # px of background between digits in a grid


def encode_png(pixels: np.ndarray) -> bytes:
    """(H, W) uint8 grey pixels → PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def tile(images: np.ndarray, gap: int = GRID_GAP) -> np.ndarray:
    """(N, H, W) uint8 → one near-square grid image, row by row, `gap` px apart."""
    count, height, width = images.shape
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.zeros((rows * (height + gap) - gap, columns * (width + gap) - gap), dtype=np.uint8)
    for i, image in enumerate(images):
        top, left = (i // columns) * (height + gap), (i % columns) * (width + gap)
        grid[top : top + height, left : left + width] = image
    return grid
