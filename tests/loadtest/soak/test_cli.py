"""`python -m loadtest.soak`: a short real run, end to end, passes and writes its summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.server import ROOT
from tests.helpers.tiny_models import build_repository


@pytest.mark.e2e
def test_a_short_soak_reports_requests_latency_and_memory(data_dir: Path, tmp_path: Path) -> None:
    repository = build_repository(tmp_path / "models")
    out = tmp_path / "soak"
    command = [sys.executable, "-m", "loadtest.soak", "--minutes", "0.2", "--users", "4"]
    command += ["--models", str(repository), "--out", str(out), "--data-dir", str(data_dir)]
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((out / "soak.json").read_text())
    assert summary["passed"] is True
    assert summary["requests"] > 0
    assert summary["errors"] == 0
    assert len(summary["windows"]) == 4, "a 12-second run still has four windows to compare"
    assert all(window["requests"] > 0 for window in summary["windows"])
    assert summary["rss_first_mb"] > 0
    assert summary["rss_growth"] is not None
    assert "| window (3 s) |" in (out / "soak.md").read_text()
    assert "PASS" in result.stdout
