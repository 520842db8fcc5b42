"""The data the export checks run on: a model's test set, as its input tensors, and how to judge it.

Built from the training report's preprocessing contract through `contract.tensors`, so the checks
feed the model exactly what the service will. The test sets come from training's data loaders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from contract.artifacts import TrainingReport
from contract.metadata import ImagePreprocessing, NoisePreprocessing, TextPreprocessing
from contract.tensors import LatentDraw, generated_pixels, image_batch, latent_batch, token_batch
from contract.text import Vocabulary
from export.parity import PARITY_SAMPLES, Evaluation
from training.data import load_imdb, load_mnist

# Static int8 calibrates on this many training digits: the test set stays for measuring.
CALIBRATION_SAMPLES = 500


@dataclass(frozen=True)
class CheckData:
    """What parity and the variants run on; `calibration` only where int8 calibrates statically."""

    evaluation: Evaluation
    calibration: dict[str, np.ndarray] = field(default_factory=dict)


def _named(names: list[str], arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
    return dict(zip(names, arrays, strict=True))


def _most_probable(probabilities: np.ndarray) -> np.ndarray:
    labels: np.ndarray = probabilities.argmax(axis=1)
    return labels


def _positive(scores: np.ndarray) -> np.ndarray:
    return (scores[:, 0] >= 0.5).astype(np.int64)


def _digits(
    preprocessing: ImagePreprocessing, names: list[str], data_dir: Path | None
) -> CheckData:
    data = load_mnist(data_dir)
    evaluation = Evaluation(
        _named(names, [image_batch(preprocessing, data.x_test)]),
        decide=_most_probable,
        labels=data.y_test.astype(np.int64),
    )
    calibration = image_batch(preprocessing, data.x_train[:CALIBRATION_SAMPLES])
    return CheckData(evaluation, _named(names, [calibration]))


def _reviews(
    preprocessing: TextPreprocessing, names: list[str], data_dir: Path | None, run_dir: Path
) -> CheckData:
    data = load_imdb(data_dir)
    vocabulary = Vocabulary.load(run_dir / preprocessing.vocabulary_file)
    tokens = token_batch(preprocessing, vocabulary, data.test_texts)
    return CheckData(Evaluation(_named(names, [tokens]), _positive, labels=data.test_labels))


def _noise(preprocessing: NoisePreprocessing, names: list[str], seed: int) -> CheckData:
    inputs = latent_batch(preprocessing, LatentDraw(PARITY_SAMPLES, seed))
    # Generators have no labels, and their pixels may round differently at .5 boundaries.
    return CheckData(
        Evaluation(_named(names, inputs), decide=generated_pixels, decisions_must_agree=False)
    )


def check_data(
    report: TrainingReport, input_names: list[str], run_dir: Path, data_dir: Path | None
) -> CheckData:
    """The test set for the report's preprocessing, named like the model's inputs, in order."""
    preprocessing = report.preprocessing
    if isinstance(preprocessing, ImagePreprocessing):
        return _digits(preprocessing, input_names, data_dir)
    if isinstance(preprocessing, TextPreprocessing):
        return _reviews(preprocessing, input_names, data_dir, run_dir)
    return _noise(preprocessing, input_names, report.seed)
