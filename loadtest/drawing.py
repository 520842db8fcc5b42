"""MNIST digits drawn as a person would upload them: dark ink on a larger sheet of paper, as PNG.

The reverse of `contract.images.to_mnist`, for the load generator's and the tests' uploads.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from contract.images import MNIST_SIZE


def render_user_style(
    pixels: np.ndarray,
    *,
    canvas: int = 200,
    offset: tuple[int, int] = (0, 0),
    scale: float = 4.0,
    paper: int = 255,
    ink: int = 0,
) -> bytes:
    """An MNIST (28, 28) digit as a user might upload it: a PNG of dark ink on a larger paper.

    `offset` moves the digit (x right, y down) from the canvas centre; `scale` enlarges it.
    """
    side = round(MNIST_SIZE * scale)
    left = (canvas - side) // 2 + offset[0]
    top = (canvas - side) // 2 + offset[1]
    if min(left, top) < 0 or max(left, top) + side > canvas:
        raise ValueError(f"a {side} px digit at offset {offset} does not fit a {canvas} px canvas")
    enlarged = Image.fromarray(np.asarray(pixels, dtype=np.uint8)).resize(
        (side, side), Image.Resampling.BICUBIC
    )
    coverage = np.asarray(enlarged, dtype=np.float32) / 255.0
    page = np.full((canvas, canvas), paper, dtype=np.float32)
    page[top : top + side, left : left + side] += (ink - paper) * coverage
    buffer = io.BytesIO()
    # compress_level=1: tests and the load generator render thousands of these.
    Image.fromarray(np.rint(page).astype(np.uint8)).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()
