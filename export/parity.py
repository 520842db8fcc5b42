"""Keras and onnxruntime must agree before a model may be served."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import onnxruntime as ort

from contract.metadata import Parity

FP32_TOLERANCE = 1e-4
PARITY_SAMPLES = 1000
# The training report's accuracy and the one recomputed through onnxruntime may differ by at
# most 0.05 percentage points.
ACCURACY_TOLERANCE = 0.0005


class ParityError(Exception):
    """The exported model does not reproduce the Keras model; the message says how far off."""


@dataclass(frozen=True)
class Evaluation:
    """Test inputs (by ONNX input name, in Keras input order) and how outputs become labels."""

    inputs: dict[str, np.ndarray]
    decide: Callable[[np.ndarray], np.ndarray]
    labels: np.ndarray | None = None
    # Generators have no labels; their rendered pixels may round differently at .5 boundaries.
    decisions_must_agree: bool = True

    def head(self, count: int) -> dict[str, np.ndarray]:
        """The first `count` rows of every input."""
        return {name: array[:count] for name, array in self.inputs.items()}


def run_batched(
    session: ort.InferenceSession, inputs: dict[str, np.ndarray], batch_size: int = 512
) -> np.ndarray:
    """First output of `session` over all rows of `inputs`, in batches."""
    rows = len(next(iter(inputs.values())))
    parts = [
        session.run(None, {k: v[start : start + batch_size] for k, v in inputs.items()})[0]
        for start in range(0, rows, batch_size)
    ]
    return np.concatenate(parts)


def accuracy(session: ort.InferenceSession, evaluation: Evaluation) -> float | None:
    """Accuracy through onnxruntime over every test sample, when there are labels."""
    if evaluation.labels is None:
        return None
    predicted = evaluation.decide(run_batched(session, evaluation.inputs))
    return float((predicted == evaluation.labels).mean())


def _label_agreement(evaluation: Evaluation, expected: np.ndarray, actual: np.ndarray) -> float:
    """Share of samples whose every decision (label, or pixel for generators) agrees."""
    agree = evaluation.decide(expected) == evaluation.decide(actual)
    return float(agree.reshape(len(actual), -1).all(axis=1).mean())


def check(
    model: keras.Model,
    session: ort.InferenceSession,
    evaluation: Evaluation,
    reported_accuracy: float | None,
    tolerance: float = FP32_TOLERANCE,
) -> Parity:
    """Compare outputs on PARITY_SAMPLES rows and accuracy on all; raise ParityError on a miss."""
    sample = evaluation.head(PARITY_SAMPLES)
    expected = model.predict(list(sample.values()), batch_size=500, verbose=0)
    actual = run_batched(session, sample)
    parity = Parity(
        samples=len(actual),
        max_abs_diff=float(np.abs(expected - actual).max()),
        tolerance=tolerance,
        label_agreement=_label_agreement(evaluation, expected, actual),
        keras_accuracy=reported_accuracy,
        onnx_accuracy=accuracy(session, evaluation),
        passed=False,
    )
    problems = problems_with(parity, evaluation.decisions_must_agree)
    if problems:
        raise ParityError("; ".join(problems))
    return parity.model_copy(update={"passed": True})


def problems_with(parity: Parity, decisions_must_agree: bool) -> list[str]:
    """Every way in which `parity` falls short, in words."""
    problems: list[str] = []
    if not parity.max_abs_diff <= parity.tolerance:  # also catches NaN
        problems.append(f"max |Δ| {parity.max_abs_diff:.3g} exceeds {parity.tolerance:g}")
    if decisions_must_agree and parity.label_agreement < 1.0:
        problems.append(f"labels agree on only {parity.label_agreement:.2%} of samples")
    if parity.keras_accuracy is not None and parity.onnx_accuracy is not None:
        gap = abs(parity.keras_accuracy - parity.onnx_accuracy)
        if gap > ACCURACY_TOLERANCE:
            problems.append(
                f"onnxruntime accuracy {parity.onnx_accuracy:.4%} differs from the training "
                f"report's {parity.keras_accuracy:.4%} by more than 0.05 points"
            )
    return problems
