"""`python -m export`: answers at once, and says which model was refused and why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from contract.artifacts import run_dir, write_report
from export.cli import main
from tests.contract.test_artifacts import sample_report

ROOT = Path(__file__).resolve().parents[2]


def test_help_answers_without_loading_tensorflow() -> None:
    probe = (
        "import sys\n"
        "from export.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.exit(bool({'tensorflow', 'keras', 'tf2onnx'} & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"--help loaded a training framework: {result.stderr}"
    assert "--artifacts" in result.stdout


def test_nothing_trained_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["all", "--artifacts", str(tmp_path)]) == 2
    assert f"no training reports in {tmp_path}" in capsys.readouterr().err


def test_a_model_that_was_never_trained_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["digits-mlp", "--artifacts", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "error: digits-mlp was not exported" in error
    assert "report.json" in error


def test_a_report_from_an_older_trainer_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = run_dir(tmp_path, "digits-mlp")
    folder.mkdir()
    report = write_report(folder, sample_report())
    report.write_text(report.read_text().replace('"task"', '"old_field"'))
    args = ["digits-mlp", "--artifacts", str(tmp_path), "--repository", str(tmp_path / "m")]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert "error: digits-mlp was not exported: 2 validation errors for TrainingReport" in error
    assert "task\n  Field required" in error
    assert not (tmp_path / "m").exists()
