"""Digit generation: a seeded noise batch (and labels) → the generator → uint8 images."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

import numpy as np

from contract.metadata import NoisePreprocessing
from contract.tensors import LatentDraw, generated_pixels, model_inputs
from service.errors import InvalidRequest
from service.lifecycle import ModelVersion
from service.png import encode_pngs

# Seeds we draw stay below 2**53 so a JavaScript client can send them back unchanged.
SEED_BITS = 32


@dataclass(frozen=True)
class GeneratorOutput:
    """Generated images and what produced them."""

    pixels: np.ndarray  # (N, 28, 28) uint8, light ink on dark
    digits: list[int | None]  # the label each image was conditioned on
    seed: int


def new_seed() -> int:
    """A random seed for a request that did not give one."""
    return secrets.randbits(SEED_BITS)


async def generate(
    model: ModelVersion, count: int, digit: int | None, seed: int
) -> GeneratorOutput:
    """`count` digits from `numpy.random.default_rng(seed)` noise; same arguments, same pixels."""
    metadata = model.metadata
    preprocessing = metadata.preprocessing
    assert isinstance(preprocessing, NoisePreprocessing), f"{model.name} is not a generator"
    if digit is not None and not preprocessing.conditional:
        raise InvalidRequest(
            f"model {model.name} is unconditional and cannot draw a chosen digit; "
            "drop model= (or use model=conditional) to pass digit="
        )
    draw = LatentDraw(count, seed, digit)
    outputs = await model.infer(model_inputs(metadata, draw))
    pixels = generated_pixels(outputs[metadata.outputs[0].name])
    shown: list[int | None] = (
        [int(label) for label in draw.labels()] if preprocessing.conditional else [None] * count
    )
    return GeneratorOutput(pixels, shown, seed)


def generated_body(generated: GeneratorOutput, model_ref: dict[str, str]) -> dict[str, object]:
    """The JSON form: each digit as base64 PNG and as pixel rows, with the seed."""
    pngs = encode_pngs(generated.pixels)
    # Pixel rows stay numpy arrays: orjson writes 64 (28, 28) uint8 arrays in 0.24 ms of CPU,
    # against 0.93 ms for `.tolist()` and dumping the lists.
    images = [
        {"png": base64.b64encode(png).decode(), "pixels": pixels, "digit": digit}
        for png, pixels, digit in zip(pngs, generated.pixels, generated.digits, strict=True)
    ]
    return {"images": images, "seed": generated.seed, **model_ref}
