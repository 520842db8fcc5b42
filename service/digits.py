"""Digit classification: validated pixels → the model's probabilities → one prediction per digit."""

from __future__ import annotations

import numpy as np

from contract.metadata import ImagePreprocessing
from contract.tensors import model_inputs
from service.lifecycle import ModelVersion

Prediction = dict[str, object]


def pixel_size(model: ModelVersion) -> tuple[int, int]:
    """(height, width) of the digits this model reads."""
    preprocessing = model.metadata.preprocessing
    assert isinstance(preprocessing, ImagePreprocessing), f"{model.name} is not a digit classifier"
    return preprocessing.height, preprocessing.width


async def classify(model: ModelVersion, pixels: np.ndarray) -> list[Prediction]:
    """(N, H, W) pixel values 0–255, light ink on dark → N predictions, in order."""
    metadata = model.metadata
    outputs = await model.infer(model_inputs(metadata, pixels))
    probabilities = outputs[metadata.outputs[0].name].astype(np.float32)  # (N, 10)
    digits = probabilities.argmax(axis=1)
    return [
        {"digit": int(digit), "confidence": row[digit], "probabilities": row}
        for digit, row in zip(digits, probabilities, strict=True)
    ]
