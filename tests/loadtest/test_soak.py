"""The soak run: a short real run end to end, and its verdict on made-up figures."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.soak import MB, Recorder, markdown, summarise
from tests.service.tiny_models import build_repository

ROOT = Path(__file__).resolve().parents[2]


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
    report = json.loads((out / "soak.json").read_text())
    assert report["passed"] is True
    assert report["requests"] > 0
    assert report["errors"] == 0
    assert len(report["windows"]) == 4, "a 12-second run still has four windows to compare"
    assert all(window["requests"] > 0 for window in report["windows"])
    assert report["rss_first_mb"] > 0
    assert report["rss_growth"] is not None
    assert "| window (3 s) |" in (out / "soak.md").read_text()
    assert "PASS" in result.stdout


def recorder(rss_mb: tuple[float, float], errors: int = 0) -> Recorder:
    """Two 1-second windows of 100 requests each, and the RSS at their ends."""
    made = Recorder(started=0.0, window_s=1.0, pid=None)
    made.latencies = {0: [10.0] * 100, 1: [12.0] * 100}
    made.errors = {1: errors} if errors else {}
    made.rss = [(1.0, int(rss_mb[0] * MB)), (2.0, int(rss_mb[1] * MB))]
    return made


ARGS = argparse.Namespace(minutes=2 / 60, users=1, max_rss_growth=0.10)


@pytest.mark.parametrize(
    ("rss_mb", "errors", "failure"),
    [
        ((100.0, 105.0), 0, None),
        ((100.0, 112.0), 0, "RSS grew 12.0%"),
        ((100.0, 100.0), 3, "3 of 200 requests failed"),
    ],
)
def test_the_verdict(rss_mb: tuple[float, float], errors: int, failure: str | None) -> None:
    report = summarise(recorder(rss_mb, errors), ARGS, "http://127.0.0.1:1")
    assert report.p99_first_ms == 10.0
    assert report.p99_last_ms == 12.0
    assert report.p99_drift == pytest.approx(0.2)
    assert report.rss_growth == pytest.approx(rss_mb[1] / rss_mb[0] - 1)
    if failure is None:
        assert report.passed, report.failures
        assert "verdict: PASS" in markdown(report)
    else:
        assert not report.passed
        assert failure in " ".join(report.failures)
        assert "verdict: FAIL" in markdown(report)
