"""The bench's `results.json`: everything one run measured, saved and read back as dataclasses.

Every number on docs/benchmarks.md is computed from this file, so a page can be re-rendered
(`--from-results`) without measuring again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from loadtest.bench.ceiling import Ceiling
from loadtest.bench.drivers import Measurement
from loadtest.bench.perf_analyzer import PerfAnalyzerRow

Results = dict[str, Any]


def save(results: Results, path: Path) -> None:
    """Write results (dataclasses included) as JSON."""
    path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))


def load(path: Path) -> Results:
    """Read results written by `save`, dataclasses rebuilt."""
    results: Results = orjson.loads(path.read_bytes())
    results["measurements"] = [Measurement(**m) for m in results["measurements"]]
    results["ceilings"] = [Ceiling(**c) for c in results["ceilings"]]
    # Runs from before the perf_analyzer section have no such key.
    results["perf_analyzer"] = [PerfAnalyzerRow(**r) for r in results.get("perf_analyzer", [])]
    return results


def peak(measurements: list[Measurement], server: str, target: str) -> Measurement | None:
    """The measurement with the highest throughput for one server and target."""
    rows = [m for m in measurements if m.server == server and m.target == target]
    return max(rows, key=lambda m: m.throughput) if rows else None


def at(measurements: list[Measurement], server: str, target: str, level: int) -> Measurement | None:
    """The measurement of one server and target at one concurrency."""
    return next(
        (m for m in measurements if (m.server, m.target, m.concurrency) == (server, target, level)),
        None,
    )


def core_us(cores: int, per_second: float) -> float:
    """Core-µs per request (or sample) at `per_second` on `cores` cores, machine-wide: the load
    driver's share included when the driver shares the machine."""
    return cores * 1e6 / per_second
