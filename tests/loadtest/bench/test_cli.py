"""A miniature `make bench`: every server starts, gets measured, and the results are written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from loadtest.bench import perf_analyzer, wrk
from loadtest.server import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.mark.skipif(not wrk.available(), reason="wrk is not installed (apt-get install wrk)")
def test_a_tiny_bench_measures_each_server_without_errors(
    repository: Path, data_dir: Path, tmp_path: Path
) -> None:
    command = [
        sys.executable, "-m", "loadtest.bench", "--models", str(repository),
        "--data-dir", str(data_dir),
        "--only", "ceiling,noop,service,perf_analyzer,defaults,minimal,overload",
        "--concurrency", "2", "--duration", "1", "--warmup", "0.2", "--ceiling-seconds", "0.02",
        "--overload-concurrency", "16", "--overload-seconds", "1", "--workers", "1",
        "--reports", str(tmp_path), "--no-doc",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = orjson.loads((tmp_path / "results.json").read_bytes())
    measured = {(m["server"], m["target"]): m for m in results["measurements"]}
    assert set(measured) >= {
        ("noop", "noop"),
        ("service", "digit-pixels"),
        ("service", "digit-png"),
        ("service", "sentiment"),
        ("service", "generate"),
        ("service", "generate-json"),
        ("defaults", "digit-pixels"),
        ("minimal", "digit-pixels"),
        ("overload", "digit-pixels"),
    }
    for key, m in measured.items():
        assert m["ok"] > 0, key
        assert m["server_errors"] + m["other_errors"] == 0, (key, m)
    assert {c["model"] for c in results["ceilings"]} >= {"digits-cnn", "gan-dcgan"}
    if not isinstance(perf_analyzer.locate(), str):
        measured_models = {(r["model"], r["concurrency"]) for r in results["perf_analyzer"]}
        assert measured_models == {(m, c) for m in perf_analyzer.MODELS for c in (1, 8, 32)}
    document = (tmp_path / "benchmarks.md").read_text()
    assert document.startswith("# Benchmarks")
    assert "core-µs per no-op request" in document  # the cost section had both peaks
