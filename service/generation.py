"""Digit generation: a seeded noise batch (and labels) → the generator → uint8 images."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

import numpy as np

from export.repository import NoisePreprocessing
from service.errors import InvalidRequest
from service.png import encode_png
from service.registry import ModelVersion

# Seeds we draw stay below 2**53 so a JavaScript client can send them back unchanged.
SEED_BITS = 32


@dataclass(frozen=True)
class GeneratedDigits:
    """Generated images and what produced them."""

    pixels: np.ndarray  # (N, 28, 28) uint8, light ink on dark
    digits: list[int | None]  # the label each image was conditioned on
    seed: int


def new_seed() -> int:
    """A random seed for a request that did not give one."""
    return secrets.randbits(SEED_BITS)


async def generate(
    model: ModelVersion, count: int, digit: int | None, seed: int
) -> GeneratedDigits:
    """`count` digits from `numpy.random.default_rng(seed)` noise; same arguments, same pixels."""
    metadata = model.metadata
    preprocessing = metadata.preprocessing
    assert isinstance(preprocessing, NoisePreprocessing), f"{model.name} is not a generator"
    if digit is not None and not preprocessing.conditional:
        raise InvalidRequest(
            f"model {model.name} is unconditional and cannot draw a chosen digit; "
            "drop model= (or use model=conditional) to pass digit="
        )
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((count, preprocessing.latent_dim), dtype=np.float32)
    # Without a chosen digit, a conditional model draws 0, 1, ..., 9, 0, ... in turn.
    labels = np.full(count, digit) if digit is not None else np.arange(count) % 10
    feeds = {}
    for spec in metadata.inputs:
        source = labels if spec.dtype == "int64" else noise
        feeds[spec.name] = source.astype(spec.dtype)
    outputs = await model.infer(feeds)
    images = outputs[metadata.outputs[0].name].astype(np.float32)  # (N, 28, 28, 1) in [-1, 1]
    pixels = np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)
    shown: list[int | None] = (
        [int(label) for label in labels] if preprocessing.conditional else [None] * count
    )
    return GeneratedDigits(pixels.reshape(count, *pixels.shape[1:3]), shown, seed)


def generated_body(generated: GeneratedDigits, model_ref: dict[str, str]) -> dict[str, object]:
    """The JSON form: each digit as base64 PNG and as pixel rows, with the seed."""
    images = [
        {"png": base64.b64encode(encode_png(pixels)).decode(), "pixels": pixels, "digit": digit}
        for pixels, digit in zip(generated.pixels, generated.digits, strict=True)
    ]
    return {"images": images, "seed": generated.seed, **model_ref}
