"""Reduced-precision variants: re-verified, recorded, and kept only where accuracy holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from contract.repository import read_metadata
from export import parity, variants
from export.cli import main as export_main
from tests.export.graphs import relu_graph


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "model.onnx"
    onnx.save(relu_graph(), str(path))
    return path


def _evaluation(wrong_share: float) -> parity.Evaluation:
    """Rows whose labels the relu graph gets right except for the first `wrong_share`."""
    x = np.random.default_rng(0).standard_normal((500, 3)).astype(np.float32)
    labels = np.maximum(x, 0).argmax(axis=1)
    wrong = int(len(labels) * wrong_share)
    labels[:wrong] = (labels[:wrong] + 1) % 3
    return parity.Evaluation({"x": x}, decide=lambda out: out.argmax(axis=1), labels=labels)


def test_a_variant_that_holds_accuracy_is_kept(source: Path) -> None:
    variant = variants.build("fp16", source, "digit-classification", _evaluation(0), {}, 1.0)
    assert (variant.kept, variant.accuracy, variant.accuracy_delta) == (True, 1.0, 0.0)
    assert (source.parent / variant.file).stat().st_size == variant.size_bytes
    assert set(variant.latency_ms) == {"batch_1", "batch_64"}


def test_a_variant_that_loses_accuracy_is_dropped_and_deleted(source: Path) -> None:
    # Baseline 1.0 against 0.99 measured: one point lost, more than the 0.3 allowed.
    variant = variants.build("fp16", source, "digit-classification", _evaluation(0.01), {}, 1.0)
    assert not variant.kept
    assert variant.accuracy_delta == pytest.approx(-0.01)
    assert variant.reason == "loses more than 0.3 points"
    assert not (source.parent / variant.file).exists()


def test_a_variant_that_cannot_be_built_is_recorded_as_such(tmp_path: Path) -> None:
    missing = tmp_path / "model.onnx"
    variant = variants.build("fp16", missing, "digit-classification", _evaluation(0), {}, 1.0)
    assert not variant.kept
    assert variant.reason.startswith("could not be built: ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_variants_of_a_trained_model_are_verified_and_recorded(
    smoke_artifacts: Path, data_dir: Path, tmp_path: Path
) -> None:
    args = ["digits-mlp", "--artifacts", str(smoke_artifacts), "--repository", str(tmp_path)]
    assert export_main([*args, "--data-dir", str(data_dir), "--fp16", "--int8"]) == 0
    metadata = read_metadata(tmp_path / "digits-mlp" / "1")
    assert [v.precision for v in metadata.variants] == ["fp16", "int8"]
    for variant in metadata.variants:
        assert variant.accuracy is not None
        assert variant.latency_ms["batch_64"] > 0
        assert (tmp_path / "digits-mlp" / "1" / variant.file).exists() == variant.kept
