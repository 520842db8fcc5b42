"""Smoke-profile training of every model, through the CLI, on slices of the real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from contract.artifacts import MODEL_FILE, read_report, run_dir
from contract.repository import sha256_file
from training.cli import main
from training.config import MODELS

pytestmark = pytest.mark.slow

TASKS = {"digits": "digit-classification", "sentiment": "sentiment", "gan": "digit-generation"}


@pytest.mark.parametrize("name", list(MODELS))
def test_smoke_run_writes_model_report_and_pictures(name: str, smoke_artifacts: Path) -> None:
    folder = run_dir(smoke_artifacts, name)
    report = read_report(folder)
    assert (folder / MODEL_FILE).stat().st_size > 0
    assert (folder / "curves.png").read_bytes()[:4] == b"\x89PNG"
    picture = "samples.png" if name.startswith("gan") else "confusion.png"
    assert (folder / picture).read_bytes()[:4] == b"\x89PNG"
    assert (report.name, report.profile, report.epochs_run) == (name, "smoke", 1)
    assert report.task == TASKS[name.split("-")[0]]
    assert report.data_sha256
    assert report.library_versions["keras"]
    assert all(np.isfinite(value) for value in report.metrics.values()), report.metrics


@pytest.mark.parametrize("name", ["gan-dcgan", "gan-conditional"])
def test_a_generator_reports_the_epoch_it_kept(name: str, smoke_artifacts: Path) -> None:
    report = read_report(run_dir(smoke_artifacts, name))
    # One epoch: judged, selected, and the report's metrics are that epoch's.
    assert report.selected_epoch == 1
    assert [(j.epoch, j.metrics) for j in report.judged_epochs or []] == [(1, report.metrics)]
    assert isinstance(report.missed_targets, list)
    assert report.preprocessing.kind == "noise"
    assert report.preprocessing.conditional == (name == "gan-conditional")


@pytest.mark.parametrize("name", ["sentiment-rnn", "sentiment-transformer"])
def test_a_text_model_reports_its_vocabulary(name: str, smoke_artifacts: Path) -> None:
    folder = run_dir(smoke_artifacts, name)
    preprocessing = read_report(folder).preprocessing
    assert preprocessing.kind == "text"
    assert sha256_file(folder / preprocessing.vocabulary_file) == preprocessing.vocabulary_sha256
    assert preprocessing.sequence_length == MODELS[name].sequence_length  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["digits-cnn", "sentiment-lstm"])
def test_training_lowers_the_loss(name: str, data_dir: Path, tmp_path: Path) -> None:
    args = [name, "--profile", "smoke", "--epochs", "3", "--data-dir", str(data_dir)]
    assert main([*args, "--out", str(tmp_path)]) == 0
    losses = read_report(run_dir(tmp_path, name)).history["loss"]
    assert losses[-1] < losses[0], f"loss did not go down: {losses}"


def test_gan_metrics_need_the_digit_classifier(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["gan-dcgan", "--profile", "smoke", "--data-dir", str(data_dir), "--out", str(tmp_path)]
    assert main(args) == 2
    assert "train digits-cnn first" in capsys.readouterr().err
