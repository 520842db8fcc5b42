"""Running the bench's `locustfile.py` as its load driver, and reading its CSV into a Measurement.

Locust spends far more CPU per request than wrk, so on a small machine it saturates before the
server does; the bench uses it only where wrk cannot be installed, and says so on its page.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from loadtest.bench.drivers import (
    REJECTED,
    REJECTED_NO_RETRY_AFTER,
    TARGET_ENV,
    Measurement,
    Target,
)

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
_REPR = re.compile(r"\w+\(['\"](.*)['\"]\)")


def measure(
    url: str, target: Target, concurrency: int, duration_s: float, *, work_dir: Path, processes: int
) -> Measurement:
    """One closed-loop locust run with `concurrency` users (all spawned within a second)."""
    prefix = work_dir / f"locust-{target.name}-{concurrency}-{time.monotonic_ns()}"
    seconds = max(1, math.ceil(duration_s))
    args = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "--host", url, "--users", str(concurrency), "--spawn-rate", str(concurrency),
        "--run-time", f"{seconds}s", "--csv", str(prefix), "--loglevel", "WARNING",
    ]  # fmt: skip
    if processes > 1 and concurrency >= processes:
        args += ["--processes", str(processes)]
    target_json = json.dumps(dataclasses.asdict(target), default=str)
    env = os.environ | {TARGET_ENV: target_json}
    subprocess.run(args, env=env, capture_output=True, check=False)
    return parse_csv(prefix, "", target.name, concurrency, seconds)


def parse_csv(
    prefix: Path, server: str, target: str, concurrency: int, seconds: float
) -> Measurement:
    """A Measurement from locust's `<prefix>_stats.csv` and `<prefix>_failures.csv`."""
    with Path(f"{prefix}_stats.csv").open(newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    failures: dict[str, int] = {}
    with Path(f"{prefix}_failures.csv").open(newline="") as handle:
        for failure in csv.DictReader(handle):
            error = _message(failure["Error"])
            failures[error] = failures.get(error, 0) + int(failure["Occurrences"])
    rejected = failures.pop(REJECTED, 0)
    missing = failures.pop(REJECTED_NO_RETRY_AFTER, 0)
    server_errors = sum(n for error, n in failures.items() if error.startswith("HTTP 5"))
    requests = int(row["Request Count"])
    return Measurement(
        server=server,
        target=target,
        concurrency=concurrency,
        duration_s=seconds,
        ok=requests - int(row["Failure Count"]),
        rejected=rejected + missing,
        server_errors=server_errors,
        other_errors=sum(failures.values()) - server_errors,
        missing_retry_after=missing,
        p50_ms=_number(row["50%"]),
        p99_ms=_number(row["99%"]),
    )


def _message(error: str) -> str:
    """The failure message in locust's repr of it: CatchResponseError('429') → 429."""
    found = _REPR.fullmatch(error)
    return found.group(1) if found else error


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:  # "N/A" when nothing was measured
        return 0.0
