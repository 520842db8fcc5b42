"""The PNG writer: files Pillow reads back to the same pixels, and the same bytes every time."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from service.png import GRID_GAP, encode_png, encode_pngs, tile


def _digits(count: int, seed: int = 0) -> np.ndarray:
    """(count, 28, 28) uint8: dark background with a bright blob, like a generated digit."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), dtype=np.uint8)
    images[:, 6:22, 9:19] = rng.integers(0, 256, (count, 16, 10), dtype=np.uint8)
    return images


IMAGES = {
    "digit": _digits(1)[0],
    "black": np.zeros((28, 28), dtype=np.uint8),
    "white": np.full((28, 28), 255, dtype=np.uint8),
    "noise": np.random.default_rng(1).integers(0, 256, (28, 28), dtype=np.uint8),
    "one pixel": np.array([[7]], dtype=np.uint8),
    "wide": np.arange(150, dtype=np.uint8).reshape(3, 50),
    "grid": tile(_digits(64)),
}


def _decoded(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.mode == "L", f"expected 8-bit grey, got {image.mode}"
    return np.asarray(image)


@pytest.mark.parametrize("name", IMAGES)
def test_pillow_reads_back_the_same_pixels(name: str) -> None:
    pixels = IMAGES[name]
    png = encode_png(pixels)
    Image.open(io.BytesIO(png)).verify()  # chunk lengths and CRCs
    np.testing.assert_array_equal(_decoded(png), pixels)


@pytest.mark.parametrize("name", IMAGES)
def test_the_same_pixels_give_the_same_bytes(name: str) -> None:
    pixels = IMAGES[name]
    spread = np.zeros((pixels.shape[0], 2 * pixels.shape[1]), dtype=np.uint8)
    spread[:, ::2] = pixels
    strided_view = spread[:, ::2]  # equal pixels in another memory layout
    assert encode_png(pixels.copy()) == encode_png(strided_view)


def test_a_batch_encodes_each_image_as_encode_png_would() -> None:
    images = _digits(5, seed=3)
    assert encode_pngs(images) == [encode_png(image) for image in images]


def test_different_pixels_give_different_bytes() -> None:
    first, second = _digits(2, seed=4)
    assert encode_png(first) != encode_png(second)


@pytest.mark.parametrize(
    "images",
    [np.zeros((2, 28, 28), dtype=np.float32), np.zeros((28, 28), dtype=np.uint8)],
    ids=["float32", "one 2-D image"],
)
def test_a_batch_must_be_uint8_images(images: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"expected \(N, H, W\) uint8"):
        encode_pngs(images)


def test_tile_lays_digits_out_row_by_row_with_a_gap() -> None:
    images = np.stack([np.full((28, 28), value, dtype=np.uint8) for value in (1, 2, 3)])
    grid = tile(images)
    step = 28 + GRID_GAP
    assert grid.shape == (2 * 28 + GRID_GAP, 2 * 28 + GRID_GAP)
    assert [grid[0, 0], grid[0, step], grid[step, 0], grid[step, step]] == [1, 2, 3, 0]
    assert grid[:, 28:step].max() == 0, "the gap between columns is background"
