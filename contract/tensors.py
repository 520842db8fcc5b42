"""Raw values → a model's input tensors, and generator outputs → pixels: written once, here.

Training, export, the service and the load generator all feed models through these functions, so
pixel scaling, token ids and the seeded noise stream match everywhere by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from contract.metadata import (
    ImagePreprocessing,
    ModelMetadata,
    NoisePreprocessing,
    TextPreprocessing,
)
from contract.text import Vocabulary, encode_batch

Tensors = dict[str, np.ndarray]
NUM_DIGITS = 10


@dataclass(frozen=True)
class LatentDraw:
    """What a generator draws from: `count` samples of seeded standard-normal noise.

    A conditional generator also gets a digit per sample: `digit` for all of them, or when it is
    None 0, 1, ..., 9, 0, ... in turn (so a 10-column grid shows one digit per column).
    """

    count: int
    seed: int
    digit: int | None = None

    def labels(self) -> np.ndarray:
        """(count,) int64 digit labels."""
        if self.digit is not None:
            return np.full(self.count, self.digit, dtype=np.int64)
        return np.arange(self.count, dtype=np.int64) % NUM_DIGITS


RawValues = np.ndarray | Sequence[str] | LatentDraw


def image_batch(preprocessing: ImagePreprocessing, pixels: np.ndarray) -> np.ndarray:
    """(N, H, W) pixel values 0-255, light ink on dark → (N, H, W, C) float32 in [0, 1]."""
    shape = (len(pixels), preprocessing.height, preprocessing.width, preprocessing.channels)
    scaled: np.ndarray = np.multiply(pixels, preprocessing.scale, dtype=np.float32)
    return scaled.reshape(shape)


def token_batch(
    preprocessing: TextPreprocessing, vocabulary: Vocabulary, texts: Sequence[str]
) -> np.ndarray:
    """(N, sequence_length) int64 token ids, exactly as the sentiment models saw in training."""
    return encode_batch(vocabulary, texts, preprocessing.sequence_length)


def latent_batch(preprocessing: NoisePreprocessing, draw: LatentDraw) -> list[np.ndarray]:
    """[(N, latent_dim) float32 noise] and, for a conditional generator, [(N,) int64 labels]."""
    rng = np.random.default_rng(draw.seed)
    noise = rng.standard_normal((draw.count, preprocessing.latent_dim), dtype=np.float32)
    return [noise, draw.labels()] if preprocessing.conditional else [noise]


def generated_pixels(images: np.ndarray) -> np.ndarray:
    """Generator output (N, H, W, 1) in [-1, 1] → (N, H, W) uint8, light ink on dark."""
    return np.clip(np.rint((images[..., 0] + 1.0) * 127.5), 0, 255).astype(np.uint8)


def model_inputs(
    metadata: ModelMetadata, raw: RawValues, vocabulary: Vocabulary | None = None
) -> Tensors:
    """Named input tensors of one model, in its dtypes, from pixels, review texts or a draw."""
    preprocessing = metadata.preprocessing
    arrays: list[np.ndarray]
    if isinstance(preprocessing, ImagePreprocessing):
        assert isinstance(raw, np.ndarray), f"{metadata.name} reads pixels"
        arrays = [image_batch(preprocessing, raw)]
    elif isinstance(preprocessing, TextPreprocessing):
        assert vocabulary is not None, f"{metadata.name} needs its vocabulary"
        assert not isinstance(raw, LatentDraw | np.ndarray), f"{metadata.name} reads texts"
        arrays = [token_batch(preprocessing, vocabulary, raw)]
    else:
        assert isinstance(raw, LatentDraw), f"{metadata.name} draws from a LatentDraw"
        arrays = latent_batch(preprocessing, raw)
    return {
        spec.name: array.astype(spec.dtype, copy=False)
        for spec, array in zip(metadata.inputs, arrays, strict=True)
    }
