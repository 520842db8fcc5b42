"""docs/models.md is written from the newest version of every model in the repository."""

from __future__ import annotations

from pathlib import Path

from contract.repository import read_metadata, version_dir, write_metadata
from export import model_card
from tests.helpers.tiny_models import build_repository


def _with_accuracy(root: Path, version: str, accuracy: float) -> None:
    """Give digits-cnn `version` the figures a classifier row shows."""
    folder = version_dir(root, "digits-cnn", version)
    metadata = read_metadata(folder).model_copy(
        update={
            "metrics": {"test_accuracy": accuracy},
            "parity": read_metadata(folder).parity.model_copy(update={"onnx_accuracy": accuracy}),
            "training_config": {"epochs_run": 3, "duration_s": 12.0},
            "cpu_latency_ms": {"batch_1": 0.1, "batch_64": 2.0},
        }
    )
    write_metadata(folder, metadata)


def test_the_newest_version_is_described(tmp_path: Path) -> None:
    # 10 is newer than 2: versions are numbers, not strings.
    for version, accuracy in ((1, 0.95), (2, 0.97), (10, 0.99)):
        build_repository(tmp_path, ("digits-cnn",), version=version)
        _with_accuracy(tmp_path, str(version), accuracy)
    assert [m.version for m in model_card.latest(tmp_path)] == ["10"]
    page = model_card.render(tmp_path, variants=None)
    assert "| digits-cnn | 99.00% | ≥ 99.2% (MISSED) |" in page
    assert "97.00%" not in page


def test_the_variants_section_appears_only_where_variants_were_measured(tmp_path: Path) -> None:
    build_repository(tmp_path, ("digits-cnn",))
    _with_accuracy(tmp_path, "1", 0.993)
    page = model_card.render(tmp_path, variants=tmp_path / "no-variants")
    assert "| digits-cnn | 99.30% | ≥ 99.2% (met) |" in page
    assert "Reduced-precision variants" not in page
    assert "Shipped repository: 1 models" in page
