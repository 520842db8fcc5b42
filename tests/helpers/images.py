"""Images for tests: encoding, and what an MNIST digit must look like."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from contract.images import INK_BOX, MNIST_SIZE


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.astype(np.float64).ravel(), b.astype(np.float64).ravel())[0, 1])


def assert_mnist_like(pixels: np.ndarray) -> None:
    """What MNIST promises: 28x28 uint8, ink peaking at 255 inside 20x20, centred by mass."""
    assert pixels.shape == (MNIST_SIZE, MNIST_SIZE), pixels.shape
    assert pixels.dtype == np.uint8, pixels.dtype
    assert pixels.max() == 255, f"strongest ink is {pixels.max()}, MNIST strokes reach 255"
    rows, cols = np.flatnonzero(pixels.any(axis=1)), np.flatnonzero(pixels.any(axis=0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    # An upscaled thumbnail's soft edge may round to zero on the outermost pixel.
    assert INK_BOX - 2 <= max(height, width) <= INK_BOX, f"ink is {width}x{height}, not 20 px"
    mass = pixels.sum(dtype=np.float64)
    centre = (
        float(pixels.sum(axis=1) @ np.arange(MNIST_SIZE)) / mass,
        float(pixels.sum(axis=0) @ np.arange(MNIST_SIZE)) / mass,
    )
    assert np.allclose(centre, (14, 14), atol=1.0), f"centre of mass at {centre}, not (14, 14)"


def encode(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def decoded(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))
