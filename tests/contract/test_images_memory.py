"""Decoding costs what the decoded image costs, once: no full-resolution copies beside it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from contract.images import ImageTooLarge, InvalidImage, open_image
from tests.helpers.images import encode

ROOT = Path(__file__).resolve().parents[2]
SIDE = 6324  # 40 megapixels: the most an upload may have
DECODED_MB = SIDE * SIDE * 4 / 2**20  # RGBA, 4 bytes a pixel: ~153 MB


@pytest.fixture(scope="module")
def rgba_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~200 kB PNG of a stroke on transparent paper that decodes to 160 MB."""
    image = Image.new("RGBA", (SIDE, SIDE), (255, 255, 255, 0))
    ImageDraw.Draw(image).line((1000, 1000, 5000, 5000), fill=(0, 0, 0, 255), width=300)
    path = tmp_path_factory.mktemp("bomb") / "rgba.png"
    path.write_bytes(encode(image, "PNG", compress_level=9))
    return path


def test_the_header_declares_the_pixels_before_any_decode(rgba_bomb: Path) -> None:
    data = rgba_bomb.read_bytes()
    assert open_image(data).size == (SIDE, SIDE)
    with pytest.raises(ImageTooLarge) as refused:
        open_image(data, max_pixels=SIDE * SIDE - 1)
    assert refused.value.pixels == SIDE * SIDE, "a refused header still says how large it is"
    with pytest.raises(InvalidImage, match="could not decode"):
        open_image(b"not an image")


def test_a_40_megapixel_rgba_png_costs_little_more_than_its_decoded_pixels(
    rgba_bomb: Path,
) -> None:
    # A fresh process, so its peak RSS is this decode's alone; before the strip-wise reduction it
    # grew by ~460 MB (the decoded image, an LA copy and a premultiplied copy at full size).
    probe = (
        "import resource, sys\n"
        "from contract.images import to_mnist\n"
        f"data = open({str(rgba_bomb)!r}, 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "digit = to_mnist(data)\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "print(grown / 1024, digit.shape)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    grown_mb = float(result.stdout.split()[0])
    assert grown_mb < DECODED_MB + 60, f"peak RSS grew {grown_mb:.0f} MB for {DECODED_MB:.0f} MB"
