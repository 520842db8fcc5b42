"""A short real locust run through `python -m loadtest.locust` against the live service."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.locust.slo import endpoint_rows, read_stats
from loadtest.server import ROOT

pytestmark = pytest.mark.e2e

# Generous p95s: this checks that every endpoint answers correctly, not how fast a busy CI is.
P95_MS = "digit=5000,sentiment=5000,generate=10000"


def test_a_short_locust_run_hits_every_endpoint_without_failures(
    live_service: str, data_dir: Path, tmp_path: Path
) -> None:
    command = [
        sys.executable, "-m", "loadtest.locust", "--host", live_service, "--users", "4",
        "--run-time", "10s", "--processes", "1", "--reports", str(tmp_path),
        "--p95-ms", P95_MS, "--data-dir", str(data_dir),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = read_stats(tmp_path / "locust_stats.csv")
    for endpoint in ("digit", "sentiment", "generate"):
        matched = endpoint_rows(rows, endpoint)
        assert sum(row.requests for row in matched) > 0, f"no {endpoint} requests: {rows}"
        assert sum(row.failures for row in matched) == 0, rows
    assert (tmp_path / "report.html").stat().st_size > 0
    assert "digit-png" in (tmp_path / "correctness.json").read_text()


def test_a_missed_slo_exits_non_zero(live_service: str, data_dir: Path, tmp_path: Path) -> None:
    # 0.001 ms is below any real p95, so the run must report the miss and exit 1.
    command = [
        sys.executable, "-m", "loadtest.locust", "--host", live_service, "--users", "2",
        "--run-time", "3s", "--reports", str(tmp_path), "--p95-ms", "digit=0.001",
        "--data-dir", str(data_dir),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "SLO missed: /predict/digit" in done.stderr
