"""`make profile` in miniature: one target profiled under load, its flame graph and summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from loadtest.bench import wrk
from loadtest.server import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.mark.skipif(not wrk.available(), reason="wrk is not installed (apt-get install wrk)")
def test_one_target_is_profiled_into_a_flame_graph_and_parts(
    repository: Path, data_dir: Path, tmp_path: Path
) -> None:
    command = [
        *(sys.executable, "-m", "loadtest.profile", "--models", str(repository)),
        *("--data-dir", str(data_dir), "--targets", "digit-pixels", "--seconds", "1"),
        *("--connections", "4", "--out", str(tmp_path)),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    if done.returncode != 0 and "Permission denied" in done.stderr:
        pytest.skip("py-spy may not attach to processes here (ptrace is not permitted)")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert (tmp_path / "digit-pixels.svg").read_text().lstrip().startswith("<?xml")
    summary = orjson.loads((tmp_path / "summary.json").read_bytes())["digit-pixels"]
    assert summary["throughput"] > 0
    assert summary["core_us_per_request"] > 0
    assert sum(summary["parts"].values()) == pytest.approx(1.0)
    assert "FastAPI and Starlette" in summary["parts"]
