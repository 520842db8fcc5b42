"""Running the GPU check in dry mode (CPU, no install) as the device would run it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from loadtest.server import ROOT

# Short but whole: every model, every route, both halves of the page.
DRY_RUN = ("--providers", "cpu", "--seconds", "0.05", "--bench-seconds", "0.3")
DRY_LOAD = ("--concurrency", "2", "--client-processes", "1")


@dataclass(frozen=True)
class DryRun:
    """One `python -m loadtest.gpu check --no-install` on CPU: its output folder and exit."""

    out: Path
    returncode: int
    output: str


def check_command(repository: Path, out: Path, *extra: str) -> list[str]:
    """The dry check's command line; later options in `extra` override the defaults."""
    command = [sys.executable, "-m", "loadtest.gpu", "check", "--no-install", *DRY_RUN, *DRY_LOAD]
    return [
        *command,
        "--repository",
        str(repository),
        "--out",
        str(out),
        "--logs",
        str(out),
        *extra,
    ]


def run_check(repository: Path, out: Path, *extra: str, timeout_s: float = 120) -> DryRun:
    """Run the check as the device would, minus the install, writing into `out`."""
    command = check_command(repository, out, *extra)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
    return DryRun(out, done.returncode, done.stdout[-3000:] + done.stderr[-3000:])
