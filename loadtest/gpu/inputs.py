"""The inputs the GPU check feeds: real MNIST digits and IMDB reviews, packed here, read there.

The data sets stay beside the checkout and never reach the device, so `prepare` saves a small
real sample (64 of each: batch 64 needs no more) into the bundle. Without one (the CPU dry run in
the tests) seeded synthetic inputs stand in; the report says which was used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson

from loadtest.bench.ceiling import Inputs
from loadtest.payloads import SEED, data_dir, load_digits, load_reviews

SAMPLES = 64
INPUTS_FILE = "inputs.npz"
# Words the IMDB vocabulary knows, so synthetic reviews make real token ids (not all [UNK]).
WORDS = ("the", "movie", "was", "good", "bad", "great", "awful", "plot", "acting", "and")


def sample_inputs(data_flag: str | Path | None) -> Inputs:
    """`SAMPLES` real test digits and reviews from the data folder (flag, env, or ours)."""
    folder = data_dir(data_flag)
    digits = load_digits(folder, SAMPLES, with_png=False)
    reviews = load_reviews(folder, SAMPLES)
    return Inputs(np.stack([d.image for d in digits]), [r.text for r in reviews])


def synthetic_inputs() -> Inputs:
    """Seeded noise digits and word-salad reviews of IMDB length (~230 words)."""
    rng = np.random.default_rng(SEED)
    images = rng.integers(0, 256, size=(SAMPLES, 28, 28), dtype=np.uint8)
    texts = [" ".join(rng.choice(WORDS, size=230)) for _ in range(SAMPLES)]
    return Inputs(images, texts)


def save_inputs(inputs: Inputs, path: Path) -> None:
    """Write `inputs` as a pickle-free .npz (texts as a fixed-width unicode array, compressed)."""
    np.savez_compressed(path, images=inputs.images, texts=np.array(inputs.texts, dtype=np.str_))


def load_inputs(path: Path) -> Inputs:
    """Read inputs written by `save_inputs`."""
    with np.load(path) as saved:
        return Inputs(saved["images"], [str(text) for text in saved["texts"]])


def digit_bodies(inputs: Inputs) -> tuple[bytes, ...]:
    """/predict/digit JSON bodies, one digit each (the bench's `digit-pixels` requests)."""
    return tuple(
        orjson.dumps({"pixels": image}, option=orjson.OPT_SERIALIZE_NUMPY)
        for image in inputs.images
    )


def review_bodies(inputs: Inputs) -> tuple[bytes, ...]:
    """/sentiment JSON bodies, one review each."""
    return tuple(orjson.dumps({"text": text}) for text in inputs.texts)
