"""A training run's folder, `<artifacts>/<name>/`: the hand-off from training to export.

Training leaves `model.keras`, `report.json` (a `TrainingReport`) and, for text models,
`vocab.txt`; export reads the report for everything it writes into `metadata.json` that it does not
measure itself, so it never re-derives the contract from training's configs. Pydantic only, like
the rest of the contract package.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from contract.metadata import Preprocessing, Task

MODEL_FILE = "model.keras"
VOCABULARY_FILE = "vocab.txt"
REPORT_FILE = "report.json"

Profile = Literal["full", "smoke"]
# A training config field as `dataclasses.asdict` gives it: architectures, sizes, rates, flags.
ConfigValue = str | int | float | bool | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JudgedEpoch(_Strict):
    """A GAN epoch judged by the digit classifier, with what it measured."""

    epoch: int
    metrics: dict[str, float]


class TrainingReport(_Strict):
    """What one training run measured and which contract its model was trained under."""

    name: str
    profile: Profile
    task: Task
    preprocessing: Preprocessing
    labels: list[str]
    config: dict[str, ConfigValue]
    metrics: dict[str, float]
    history: dict[str, list[float]]
    data_sha256: dict[str, str]
    epochs_run: int
    duration_s: float
    seed: int
    created_at: datetime
    library_versions: dict[str, str]
    # Generators only: GAN losses say little, so the kept epoch is the one judged best.
    selected_epoch: int | None = None
    judged_epochs: list[JudgedEpoch] | None = None
    missed_targets: list[str] | None = None


def run_dir(artifacts: Path, name: str) -> Path:
    """Folder of one model's training run."""
    return artifacts / name


def trained_names(artifacts: Path) -> list[str]:
    """Names of every model with a finished training run (a report) in `artifacts`, sorted."""
    if not artifacts.is_dir():
        return []
    return sorted(p.name for p in artifacts.iterdir() if (p / REPORT_FILE).is_file())


def write_report(folder: Path, report: TrainingReport) -> Path:
    """Write `report.json` into the run's folder, pretty-printed for people to read."""
    path = folder / REPORT_FILE
    path.write_text(report.model_dump_json(indent=2) + "\n")
    return path


def read_report(folder: Path) -> TrainingReport:
    """Parse and validate a run's `report.json`."""
    return TrainingReport.model_validate_json((folder / REPORT_FILE).read_bytes())
