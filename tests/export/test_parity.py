"""Parity: onnxruntime must reproduce the Keras model before the export may go on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from contract.metadata import Parity
from export import parity
from tests.export.graphs import relu_graph

ROWS = 1200  # more than PARITY_SAMPLES, so accuracy covers rows the output comparison does not


class _Stand:
    """Stands in for the Keras model: parity only calls `predict`."""

    def __init__(self, compute: Callable[[np.ndarray], np.ndarray]) -> None:
        self.compute = compute

    def predict(self, inputs: list[np.ndarray], **_: object) -> np.ndarray:
        return self.compute(inputs[0])


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


@pytest.fixture
def session(tmp_path: Path) -> ort.InferenceSession:
    path = tmp_path / "relu.onnx"
    onnx.save(relu_graph(), str(path))
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture
def evaluation() -> parity.Evaluation:
    x = np.random.default_rng(0).standard_normal((ROWS, 3)).astype(np.float32)
    return parity.Evaluation({"x": x}, decide=lambda out: out.argmax(axis=1))


def test_a_faithful_export_passes(
    session: ort.InferenceSession, evaluation: parity.Evaluation
) -> None:
    verified = parity.check(_Stand(_relu), session, evaluation, reported_accuracy=None)
    assert verified.passed
    assert verified.samples == parity.PARITY_SAMPLES
    assert verified.max_abs_diff == 0.0
    assert verified.label_agreement == 1.0


def test_a_perturbed_model_fails(
    session: ort.InferenceSession, evaluation: parity.Evaluation
) -> None:
    drifted = _Stand(lambda x: _relu(x) * 2)
    with pytest.raises(parity.ParityError, match=r"max \|Δ\| .* exceeds 0.0001"):
        parity.check(drifted, session, evaluation, reported_accuracy=None)


def test_accuracy_is_measured_on_every_row_and_held_to_the_report(
    session: ort.InferenceSession, evaluation: parity.Evaluation
) -> None:
    labels = evaluation.decide(_relu(evaluation.inputs["x"]))
    labelled = parity.Evaluation(evaluation.inputs, evaluation.decide, labels=labels)
    assert parity.accuracy(session, labelled) == 1.0
    with pytest.raises(parity.ParityError, match="differs from the training report's 97"):
        parity.check(_Stand(_relu), session, labelled, reported_accuracy=0.97)


def _parity(**changes: object) -> Parity:
    fields: dict[str, object] = {
        "samples": 1000,
        "max_abs_diff": 1e-6,
        "tolerance": 1e-4,
        "label_agreement": 1.0,
        "passed": False,
    }
    return Parity.model_validate(fields | changes)


@pytest.mark.parametrize(
    ("changes", "must_agree", "problems"),
    [
        ({}, True, []),
        ({"max_abs_diff": float("nan")}, True, ["max |Δ| nan exceeds 0.0001"]),
        ({"label_agreement": 0.999}, True, ["labels agree on only 99.90% of samples"]),
        # A generator's pixels may round the other way at .5; outputs still match closely.
        ({"label_agreement": 0.999}, False, []),
        (
            {"keras_accuracy": 0.99, "onnx_accuracy": 0.9894},
            True,
            [
                "onnxruntime accuracy 98.9400% differs from the training report's 99.0000% "
                "by more than 0.05 points"
            ],
        ),
        ({"keras_accuracy": 0.99, "onnx_accuracy": 0.9896}, True, []),
    ],
)
def test_problems_are_named(
    changes: dict[str, object], must_agree: bool, problems: list[str]
) -> None:
    assert parity.problems_with(_parity(**changes), must_agree) == problems
