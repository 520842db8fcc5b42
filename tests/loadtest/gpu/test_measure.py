"""The check is time-boxed and never loses what it measured: stopped early, it still writes both."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from loadtest.gpu import page, schema
from loadtest.gpu.measure import PAGE_FILE, RESULTS_FILE
from loadtest.server import ROOT
from tests.helpers.waiting import eventually
from tests.loadtest.gpu.dry_run import check_command, run_check

STOPPED_EARLY = 3  # the exit status of a run that is not complete


@pytest.mark.e2e
def test_a_time_box_too_short_skips_steps_and_says_so(tiny_models: Path, tmp_path: Path) -> None:
    done = run_check(tiny_models, tmp_path, "--budget-s", "5")
    assert done.returncode == STOPPED_EARLY, done.output
    results = schema.load(tmp_path / RESULTS_FILE)
    assert (results.complete, results.stopped) == (False, "time box")
    assert results.device is not None, "the first step always runs"
    assert any(note.startswith("skipped") for note in results.notes), results.notes
    assert (tmp_path / PAGE_FILE).read_text() == page.render(results)


@pytest.mark.e2e
def test_sigterm_mid_load_writes_what_was_measured(tiny_models: Path, tmp_path: Path) -> None:
    command = check_command(tiny_models, tmp_path, "--bench-seconds", "60")
    log = (tmp_path / "check.log").open("wb")
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        eventually(lambda: _serving(tmp_path), timeout_s=90, interval_s=0.2, what="the service up")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == STOPPED_EARLY, (tmp_path / "check.log").read_text()
    finally:
        process.kill()
        log.close()
    results = schema.load(tmp_path / RESULTS_FILE)
    assert (results.complete, results.stopped) == (False, "SIGTERM")
    assert results.latencies, "the raw figures measured before the signal are kept"
    assert results.services[0].models, "and so is where each model ran"
    assert (tmp_path / PAGE_FILE).read_text() == page.render(results)


def _serving(out: Path) -> bool:
    if not (out / RESULTS_FILE).is_file():
        return False
    results = schema.load(out / RESULTS_FILE)
    return bool(results.services and results.services[0].ready_s is not None)
