"""Image preprocessing refuses what is not a usable digit, with a reason, and nothing else."""

from __future__ import annotations

import struct
import time
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from contract.images import (
    MNIST_SIZE,
    ImageTooLarge,
    InvalidImage,
    to_mnist,
)
from loadtest.drawing import render_user_style
from tests.helpers.images import assert_mnist_like, encode

# --- what is refused, and how --------------------------------------------------------------------


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size and holds no pixels at all."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IEND", b"")


def png_bomb(side: int) -> bytes:
    """A real, valid 1-bit PNG of sidexside blank pixels: a few kB that inflate to side² pixels."""
    row = bytes(1 + (side + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    chunks = png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def flat_png(value: int, size: tuple[int, int] = (64, 64)) -> bytes:
    return encode(Image.new("L", size, value))


def faint_speckle_jpeg() -> bytes:
    """Blank paper photographed: a little sensor noise, no ink."""
    noise = np.random.default_rng(1).normal(235, 2, (64, 64))
    return encode(Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8)), "JPEG")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"hello, world", "could not decode", id="text"),
        pytest.param(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "could not decode", id="PDF"),
        pytest.param(b"%!PS-Adobe-3.0 EPSF-3.0\n", "could not decode", id="EPS (Ghostscript)"),
        pytest.param(png_header_only(64, 64), "could not decode", id="PNG without pixels"),
        pytest.param(flat_png(0, (1, 1)), "1x1 px; expected at least 8x8", id="1x1"),
        pytest.param(flat_png(255, (100, 5)), "100x5 px", id="thin strip"),
        pytest.param(flat_png(255), "single flat colour", id="blank white"),
        pytest.param(faint_speckle_jpeg(), "nothing stands out", id="blank paper photo"),
    ],
)
def test_unusable_uploads_are_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(InvalidImage, match=message) as raised:
        to_mnist(data)
    assert not isinstance(raised.value, ImageTooLarge)


def test_a_truncated_png_is_refused(seven: np.ndarray) -> None:
    png = render_user_style(seven)
    with pytest.raises(InvalidImage, match="could not decode"):
        to_mnist(png[: len(png) // 2])


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(png_header_only(100_000, 100_000), id="header claims 10 gigapixels"),
        pytest.param(png_header_only(7_000, 7_000), id="header claims 49 megapixels"),
        pytest.param(png_bomb(8_000), id="real 64-megapixel bomb"),
    ],
)
def test_decompression_bombs_are_refused_before_decoding(data: bytes) -> None:
    start = time.perf_counter()
    with pytest.raises(ImageTooLarge, match=r"megapixels|too large"):
        to_mnist(data)
    # Decoding 64 megapixels would take far longer; refusing from the header is instant.
    assert time.perf_counter() - start < 0.5


def test_the_pixel_limit_is_a_parameter(seven: np.ndarray) -> None:
    png = render_user_style(seven, canvas=200)
    with pytest.raises(ImageTooLarge, match=r"200x200 px .* at most 0\.01 megapixels"):
        to_mnist(png, max_pixels=10_000)
    assert_mnist_like(to_mnist(png, max_pixels=40_000))


def seed_files() -> list[bytes]:
    """Small valid files whose formats have no checksums, so mutations reach the decoders."""
    stroke = np.full((16, 16), 255, dtype=np.uint8)
    stroke[3:13, 7:9] = 0
    image = Image.fromarray(stroke)
    return [
        encode(image, "PNG"),
        encode(image, "BMP"),
        encode(image, "GIF"),
        encode(image, "TIFF"),
        encode(image, "JPEG"),
        encode(image.convert("RGBA"), "WEBP"),
    ]


SEEDS = seed_files()


def assert_only_invalid_image(data: bytes) -> None:
    try:
        result = to_mnist(data)
    except InvalidImage:
        return
    assert result.shape == (MNIST_SIZE, MNIST_SIZE)
    assert result.dtype == np.uint8


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_raise_nothing_but_invalid_image(data: bytes) -> None:
    assert_only_invalid_image(data)


# Pillow warns about the corrupt TIFF tags and EXIF blocks it meets here, as it should.
@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    cut=st.integers(1, 10_000),
)
def test_damaged_images_raise_nothing_but_invalid_image(
    seed: bytes, edits: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(seed[:cut])
    for position, value in edits:
        data[position % len(data)] = value
    assert_only_invalid_image(bytes(data))
