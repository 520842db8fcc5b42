"""Smoke-profile training of every model, through the CLI, on slices of the real data."""

import json
from pathlib import Path

import numpy as np
import pytest

from training.config import MODELS

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", list(MODELS))
def test_smoke_run_writes_model_report_and_pictures(name: str, smoke_artifacts: Path) -> None:
    folder = smoke_artifacts / name
    report = json.loads((folder / "report.json").read_text())
    assert (folder / "model.keras").stat().st_size > 0
    assert (folder / "curves.png").read_bytes()[:4] == b"\x89PNG"
    picture = "samples.png" if name.startswith("gan") else "confusion.png"
    assert (folder / picture).read_bytes()[:4] == b"\x89PNG"
    assert report["profile"] == "smoke"
    assert report["epochs_run"] == 1
    assert report["data_sha256"]
    assert report["library_versions"]["keras"]
    assert all(np.isfinite(value) for value in report["metrics"].values()), report["metrics"]
    if name.startswith("gan"):
        # One epoch: judged, selected, and the report's metrics are that epoch's.
        assert report["selected_epoch"] == 1
        [judged] = report["judged_epochs"]
        assert judged == {"epoch": 1, **report["metrics"]}
        assert isinstance(report["missed_targets"], list)


@pytest.mark.parametrize("name", ["digits-cnn", "sentiment-lstm"])
def test_training_lowers_the_loss(name: str, data_dir: Path, tmp_path: Path) -> None:
    from training.cli import main

    args = [name, "--profile", "smoke", "--epochs", "3", "--data-dir", str(data_dir)]
    assert main([*args, "--out", str(tmp_path)]) == 0
    losses = json.loads((tmp_path / name / "report.json").read_text())["history"]["loss"]
    assert losses[-1] < losses[0], f"loss did not go down: {losses}"


def test_gan_metrics_need_the_digit_classifier(data_dir: Path, tmp_path: Path) -> None:
    from training.cli import main

    args = ["gan-dcgan", "--profile", "smoke", "--data-dir", str(data_dir), "--out", str(tmp_path)]
    assert main(args) == 2
