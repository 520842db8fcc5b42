"""The bench's request kinds, with their bodies written to files for the load drivers."""

from __future__ import annotations

from pathlib import Path

from loadtest.bench.drivers import Target
from loadtest.bench.noop_app import NOOP_PATH
from loadtest.payloads import DigitSample, ReviewSample

# Distinct bodies per target: enough variety, few enough to read into every driver thread.
BODY_SAMPLES = 64
GENERATE_COUNT = 16
JSON = "application/json"


def write_targets(
    folder: Path, digits: list[DigitSample], reviews: list[ReviewSample]
) -> dict[str, Target]:
    """Every target by name; POST bodies are written under `folder`."""
    pixels = _write(folder / "digit-pixels", [d.pixels_json for d in digits], "json")
    pngs = _write(folder / "digit-png", [d.png for d in digits], "png")
    texts = _write(folder / "sentiment", [r.body for r in reviews], "json")
    targets = [
        # The no-op gets the pixel bodies too, so both pay the same transfer and body read.
        Target("noop", "POST", NOOP_PATH, JSON, pixels),
        Target("digit-pixels", "POST", "/predict/digit", JSON, pixels),
        Target("digit-png", "POST", "/predict/digit", "image/png", pngs),
        Target("sentiment", "POST", "/sentiment", JSON, texts),
        Target("generate", "GET", f"/generate?count={GENERATE_COUNT}", seed_param=True),
        Target(
            "generate-json",
            "GET",
            f"/generate?count={GENERATE_COUNT}&format=json",
            seed_param=True,
        ),
    ]
    return {target.name: target for target in targets}


def _write(folder: Path, bodies: list[bytes], suffix: str) -> tuple[Path, ...]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = tuple(folder / f"{i:03d}.{suffix}" for i in range(len(bodies)))
    for path, body in zip(paths, bodies, strict=True):
        path.write_bytes(body)
    return paths
