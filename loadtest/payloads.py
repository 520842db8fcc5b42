"""Real request bodies, built once before any load: MNIST test digits and IMDB test reviews.

Load generators replay these (cycling), so the service sees real pixels and real text and the
client spends no time building requests while it measures.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from loadtest.drawing import render_user_style
from training.data import DATA_DIR_ENV, IMDB_FILE, MNIST_FILE, resolve_data_dir

ROOT = Path(__file__).resolve().parent.parent
# Beside the checkout on our build machines, as the tests and `make` expect it: unlike training,
# the load generators never download the data, so without a folder they need a default one.
DEFAULT_DATA_DIR = ROOT.parent / "shared" / "data"
SEED = 1234


@dataclass(frozen=True)
class DigitSample:
    """One MNIST test digit as both request bodies the service accepts, with its label."""

    label: int
    image: np.ndarray  # (28, 28) uint8, light ink on dark
    pixels_json: bytes  # {"pixels": [[28 × 28 ints]]}, MNIST polarity
    png: bytes  # dark ink on white paper, as a user would upload it


@dataclass(frozen=True)
class ReviewSample:
    """One IMDB test review as a /sentiment body, with its label."""

    label: str  # "positive" or "negative"
    text: str
    body: bytes  # {"text": "..."}


def data_dir(flag: str | Path | None = None) -> Path:
    """The folder with mnist.npz and imdb.jsonl.gz: the flag, else $TRAINING_DATA_DIR, else ours."""
    chosen = resolve_data_dir(str(flag) if flag else None) or DEFAULT_DATA_DIR
    missing = [name for name in (MNIST_FILE, IMDB_FILE) if not (chosen / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{chosen} lacks {', '.join(missing)}; pass --data-dir or set ${DATA_DIR_ENV} to the "
            "folder with the real MNIST and IMDB files"
        )
    return chosen


def load_digits(folder: Path, count: int, *, with_png: bool = True) -> list[DigitSample]:
    """`count` random MNIST test digits (fixed seed); PNG rendering costs ~1 ms each."""
    with np.load(folder / MNIST_FILE) as mnist:
        images, labels = mnist["x_test"], mnist["y_test"]
    chosen = np.random.default_rng(SEED).choice(len(images), size=count, replace=False)
    return [
        DigitSample(
            label=int(labels[i]),
            image=images[i],
            pixels_json=orjson.dumps({"pixels": images[i]}, option=orjson.OPT_SERIALIZE_NUMPY),
            png=render_user_style(images[i]) if with_png else b"",
        )
        for i in chosen
    ]


def load_reviews(folder: Path, count: int) -> list[ReviewSample]:
    """`count` random IMDB test reviews (fixed seed), both labels mixed as in the test split."""
    with gzip.open(folder / IMDB_FILE, "rb") as lines:
        records = [orjson.loads(line) for line in lines]
    test = [record for record in records if record["split"] == "test"]
    chosen = np.random.default_rng(SEED).choice(len(test), size=count, replace=False)
    return [
        ReviewSample(
            label="positive" if test[i]["label"] == 1 else "negative",
            text=test[i]["text"],
            body=orjson.dumps({"text": test[i]["text"]}),
        )
        for i in chosen
    ]
