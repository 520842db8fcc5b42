"""`python -m loadtest.decoders`: Pillow and OpenCV timed on the bench's drawings, same pixels."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
from PIL import Image

from loadtest import decoders
from loadtest.payloads import load_digits


def test_both_decoders_read_the_bench_drawings_to_the_same_pixels(
    tmp_path: Path, data_dir: Path
) -> None:
    out = tmp_path / "decoders.json"
    decoders.main(["--data-dir", str(data_dir), "--count", "3", "--rounds", "1", "--out", str(out)])
    summary = orjson.loads(out.read_bytes())
    assert summary["command"] == "python -m loadtest.decoders"
    rows = {row["format"]: row for row in summary["rows"]}
    assert set(rows) == {"png", "jpeg"}
    for row in rows.values():
        assert row["pillow_decode_us"] > 0
        assert row["whole_upload_us"] > 0
        assert row["opencv_decode_us"] is not None, "the dev extra installs OpenCV"
        assert row["max_difference"] == 0, "both decoders must see the same drawing"
    assert "| png |" in summary["table"]
    assert "| jpeg |" in summary["table"]


def test_the_jpeg_bodies_are_real_jpegs_of_the_drawings(data_dir: Path) -> None:
    png = load_digits(data_dir, 1)[0].png
    jpeg = decoders.as_jpeg(png)
    assert jpeg[:3] == b"\xff\xd8\xff"
    assert decoders.pillow_gray(jpeg).shape == decoders.pillow_gray(png).shape
    assert decoders.opencv_gray(jpeg).shape == decoders.opencv_gray(png).shape
    assert Image.open(io.BytesIO(jpeg)).format == "JPEG"
