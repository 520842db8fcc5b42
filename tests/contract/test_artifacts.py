"""The training → export hand-off: a run folder's report reads back exactly as it was written."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from contract.artifacts import (
    REPORT_FILE,
    JudgedEpoch,
    TrainingReport,
    read_report,
    run_dir,
    trained_names,
    write_report,
)
from contract.metadata import (
    ImagePreprocessing,
    NoisePreprocessing,
    Preprocessing,
    Task,
    TextPreprocessing,
)

TASKS: dict[str, Task] = {
    "image": "digit-classification",
    "text": "sentiment",
    "noise": "digit-generation",
}

IMAGE = ImagePreprocessing()
TEXT = TextPreprocessing(
    standardisation=["lower-case"],
    vocabulary_sha256="ab" * 32,
    vocabulary_size=10_000,
    sequence_length=200,
)


def sample_report(preprocessing: Preprocessing = IMAGE) -> TrainingReport:
    """A plausible report of a smoke run, for the preprocessing given."""
    generator = isinstance(preprocessing, NoisePreprocessing)
    metrics = {"mean_confidence": 0.93} if generator else {"test_accuracy": 0.91, "test_loss": 0.3}
    return TrainingReport(
        name="gan-dcgan" if generator else "digits-mlp",
        profile="smoke",
        task=TASKS[preprocessing.kind],
        preprocessing=preprocessing,
        labels=[str(d) for d in range(10)],
        config={"architecture": "mlp", "epochs": 2, "augment": False, "max_train_samples": None},
        metrics=metrics,
        history={"loss": [0.9, 0.5]},
        data_sha256={"mnist": "cd" * 32},
        epochs_run=2,
        duration_s=3.4,
        seed=1337,
        created_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        library_versions={"keras": "3.15.1"},
        selected_epoch=2 if generator else None,
        judged_epochs=[JudgedEpoch(epoch=2, metrics=metrics)] if generator else None,
        missed_targets=[] if generator else None,
    )


@pytest.mark.parametrize(
    "preprocessing",
    [IMAGE, TEXT, NoisePreprocessing(latent_dim=100, conditional=True)],
    ids=["image", "text", "noise"],
)
def test_a_report_reads_back_as_written(preprocessing: Preprocessing, tmp_path: Path) -> None:
    report = sample_report(preprocessing)
    write_report(tmp_path, report)
    assert read_report(tmp_path) == report


def test_config_values_keep_their_json_types(tmp_path: Path) -> None:
    write_report(tmp_path, sample_report())
    config = read_report(tmp_path).config
    assert config == {
        "architecture": "mlp",
        "epochs": 2,
        "augment": False,
        "max_train_samples": None,
    }
    assert [type(config[key]) for key in ("epochs", "augment")] == [int, bool]


def test_an_unknown_field_is_refused(tmp_path: Path) -> None:
    fields = json.loads(sample_report(TEXT).model_dump_json())
    # Before the report was typed, sentiment runs wrote the vocabulary hash at the top level.
    (tmp_path / REPORT_FILE).write_text(json.dumps({**fields, "vocabulary_sha256": "ab" * 32}))
    with pytest.raises(ValidationError, match="vocabulary_sha256"):
        read_report(tmp_path)


def test_a_report_without_its_contract_is_refused(tmp_path: Path) -> None:
    fields = json.loads(sample_report().model_dump_json())
    del fields["preprocessing"]
    (tmp_path / REPORT_FILE).write_text(json.dumps(fields))
    with pytest.raises(ValidationError, match="preprocessing"):
        read_report(tmp_path)


def test_trained_names_are_the_runs_with_a_report(tmp_path: Path) -> None:
    for name in ("sentiment-rnn", "digits-cnn"):
        run_dir(tmp_path, name).mkdir()
        write_report(run_dir(tmp_path, name), sample_report())
    run_dir(tmp_path, "digits-mlp").mkdir()  # interrupted: no report yet
    assert trained_names(tmp_path) == ["digits-cnn", "sentiment-rnn"]
    assert trained_names(tmp_path / "absent") == []
