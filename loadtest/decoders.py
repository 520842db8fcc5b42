"""`python -m loadtest.decoders`: what an upload costs per image, decoded by Pillow or by OpenCV.

The service decodes uploads with Pillow (contract/images.py: the header, then one decode to 8-bit
lightness) and then runs the MNIST recipe (crop, fit to 20×20, centre by mass). OpenCV's
`imdecode` is the usual faster decoder. This times both on the bench's own drawings (user-style
200×200 PNGs, dark ink on white) and on the same drawings as JPEG, in one process, taking turns,
best of several rounds; the whole upload with Pillow (`to_mnist`) is timed beside them, so the
table says what switching decoder would save of all of it. The table lands in
docs/decoders.json, which `make bench` shows.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
from PIL import Image

from contract.images import decode_gray, open_image, to_mnist
from loadtest import server
from loadtest.bench.targets import BODY_SAMPLES
from loadtest.payloads import data_dir, load_digits

Decoder = Callable[[bytes], np.ndarray]
JPEG_QUALITY = 90


@dataclass(frozen=True)
class Row:
    """One format's figures, µs of one core per image."""

    format: str
    pillow_decode_us: float
    opencv_decode_us: float | None
    whole_upload_us: float  # to_mnist with Pillow: decode and recipe, as the service runs it
    max_difference: int | None  # largest |Pillow − OpenCV| of a decoded pixel, 0–255

    @property
    def saving(self) -> float | None:
        """The share of the whole upload OpenCV's decode would save."""
        if self.opencv_decode_us is None:
            return None
        return (self.pillow_decode_us - self.opencv_decode_us) / self.whole_upload_us


def pillow_gray(data: bytes) -> np.ndarray:
    """The service's decode: header checks, then 8-bit lightness."""
    return decode_gray(open_image(data))


def opencv_gray(data: bytes) -> np.ndarray:
    """OpenCV's decode straight to 8-bit grey; ImportError where OpenCV is not installed."""
    import cv2  # optional: only this comparison uses it

    gray = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if gray is None:
        raise ValueError("OpenCV could not decode the body")
    return np.asarray(gray)


def as_jpeg(png: bytes) -> bytes:
    """The same drawing as a JPEG, as a phone or a scanner would send it."""
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("L").save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def per_image_us(work: Callable[[bytes], object], bodies: list[bytes]) -> float:
    """Process CPU µs per body for one pass over `bodies`."""
    started = time.process_time()
    for body in bodies:
        work(body)
    return (time.process_time() - started) * 1e6 / len(bodies)


def measure(fmt: str, bodies: list[bytes], rounds: int, opencv: bool) -> Row:
    """Best of `rounds` for each contender, taking turns within every round."""
    contenders: dict[str, Callable[[bytes], object]] = {
        "pillow": pillow_gray,
        "whole": to_mnist,
        **({"opencv": opencv_gray} if opencv else {}),
    }
    best = dict.fromkeys(contenders, float("inf"))
    for index in range(rounds):
        order = list(contenders) if index % 2 == 0 else list(reversed(contenders))
        for name in order:
            best[name] = min(best[name], per_image_us(contenders[name], bodies))
    difference = (
        max(int(np.abs(pillow_gray(b).astype(int) - opencv_gray(b)).max()) for b in bodies)
        if opencv
        else None
    )
    return Row(fmt, best["pillow"], best.get("opencv"), best["whole"], difference)


def opencv_available() -> bool:
    """Whether OpenCV imports here (the dev extra pins opencv-python-headless)."""
    return importlib.util.find_spec("cv2") is not None


def table(rows: list[Row]) -> str:
    """The rows as a markdown table."""
    lines = [
        "| format | Pillow decode µs | OpenCV decode µs | whole upload (Pillow) µs "
        "| OpenCV would save | max pixel difference |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        opencv = f"{row.opencv_decode_us:,.0f}" if row.opencv_decode_us is not None else "n/a"
        saving = f"{row.saving:.0%}" if row.saving is not None else "n/a"
        difference = str(row.max_difference) if row.max_difference is not None else "n/a"
        lines.append(
            f"| {row.format} | {row.pillow_decode_us:,.0f} | {opencv} "
            f"| {row.whole_upload_us:,.0f} | {saving} | {difference} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The comparison's options."""
    parser = argparse.ArgumentParser(prog="python -m loadtest.decoders", description=__doc__)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--count", type=int, default=BODY_SAMPLES, help="drawings per format")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=server.ROOT / "docs" / "decoders.json")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Measure, print the table and write it with its command into --out."""
    args = parse_args(argv)
    pngs = [digit.png for digit in load_digits(data_dir(args.data_dir), args.count)]
    opencv = opencv_available()
    bodies = {"png": pngs, "jpeg": [as_jpeg(png) for png in pngs]}
    rows = [measure(fmt, found, args.rounds, opencv) for fmt, found in bodies.items()]
    markdown = table(rows)
    print(markdown if opencv else markdown + "\n(OpenCV is not installed here)", flush=True)
    summary = {
        "command": "python -m loadtest.decoders",
        "measured_at": time.time(),
        "table": markdown,
        "rows": [row.__dict__ | {"saving": row.saving} for row in rows],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
