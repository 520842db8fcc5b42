"""PNG encoding of generated digits; deterministic, so the same pixels give the same bytes.

A small writer of 8-bit grey PNGs (signature, IHDR, one IDAT, IEND) on zlib directly, instead of
Pillow: `/generate?format=json` encodes 64 digits per request, and Pillow's per-image set-up
(an Image, a BytesIO, a plugin lookup, an encoder), its per-row filter search and zlib's default
strategy took 6.5 ms of CPU for the 64 (issue 16); this writer takes 1.7 ms, and 0.46 ms for
their 8×8 grid against Pillow's 2.5 ms.
"""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np

GRID_GAP = 2  # px of background between digits in a grid

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Run-length matches only: generated digits are mostly runs of dark background. Against zlib's
# default strategy at level 6, on 64 generated digits RLE took 35 % less time for 2 % more bytes,
# and on their grid 75 % less time for 2 % fewer bytes; both stay smaller than Pillow's files.
_STRATEGY = zlib.Z_RLE
# Filter type 0 (none) on every row: the digits are mostly flat background, so the filters
# Pillow searches per row made the files bigger, not smaller, and the search costs time.
_NO_FILTER = 0


def encode_png(pixels: np.ndarray) -> bytes:
    """(H, W) uint8 grey pixels → PNG bytes."""
    return encode_pngs(pixels[np.newaxis])[0]


def encode_pngs(images: np.ndarray) -> list[bytes]:
    """(N, H, W) uint8 grey images → one PNG each.

    The bytes depend only on the pixels (and the zlib build, as with any PNG encoder).
    """
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected (N, H, W) uint8 images; got {images.shape} {images.dtype}")
    count, height, width = images.shape
    # (N, H, 1 + W): each scanline starts with its filter-type byte.
    scanlines = np.full((count, height, 1 + width), _NO_FILTER, dtype=np.uint8)
    scanlines[:, :, 1:] = images
    header = SIGNATURE + _chunk(b"IHDR", _grey_header(width, height))
    return [header + _chunk(b"IDAT", _deflate(image.tobytes())) + _IEND for image in scanlines]


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, strategy=_STRATEGY)
    return compressor.compress(data) + compressor.flush()


def _grey_header(width: int, height: int) -> bytes:
    # Bit depth 8, colour type 0 (grey), compression 0, filter method 0, no interlace.
    return struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


_IEND = _chunk(b"IEND", b"")


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
