"""Service-level objectives checked against a locust run's `*_stats.csv`: pure, unit-tested."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

# `--p95-ms digit=50` names an endpoint by key; any key starting with "/" is a path prefix itself.
ENDPOINT_PATHS = {"digit": "/predict/digit", "sentiment": "/sentiment", "generate": "/generate"}
AGGREGATED = "Aggregated"


@dataclass(frozen=True)
class RequestStats:
    """One row of locust's stats CSV (one request name)."""

    name: str
    requests: int
    failures: int
    p95_ms: float
    rps: float


def read_stats(path: Path) -> list[RequestStats]:
    """Rows of a locust `*_stats.csv`, the Aggregated row included."""
    with path.open(newline="") as handle:
        return [
            RequestStats(
                name=row["Name"],
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                p95_ms=_number(row["95%"]),
                rps=_number(row["Requests/s"]),
            )
            for row in csv.DictReader(handle)
        ]


def parse_thresholds(text: str) -> dict[str, float]:
    """`digit=50,sentiment=100` → {"digit": 50.0, "sentiment": 100.0} (milliseconds)."""
    thresholds = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{item!r} is not KEY=MILLISECONDS (e.g. digit=50)")
        if key.strip() not in ENDPOINT_PATHS and not key.strip().startswith("/"):
            raise ValueError(
                f"unknown endpoint {key!r}; use {', '.join(ENDPOINT_PATHS)} or a /path"
            )
        thresholds[key.strip()] = float(value)
    return thresholds


def endpoint_rows(rows: list[RequestStats], key: str) -> list[RequestStats]:
    """The rows whose request name falls under an endpoint key (every variant of it)."""
    prefix = ENDPOINT_PATHS.get(key, key)
    return [row for row in rows if row.name != AGGREGATED and row.name.startswith(prefix)]


def breaches(
    rows: list[RequestStats], p95_ms: dict[str, float], max_error_ratio: float = 0.0
) -> list[str]:
    """Every SLO the run missed, in words; empty when all were met.

    Each endpoint with a p95 threshold must have seen requests, and each of its request names
    (e.g. both `/predict/digit [png]` and `[pixels]`) must meet it.
    """
    found = []
    total = sum(row.requests for row in rows if row.name != AGGREGATED)
    failed = sum(row.failures for row in rows if row.name != AGGREGATED)
    if total == 0:
        found.append("no requests were made")
    elif failed / total > max_error_ratio:
        found.append(f"error ratio {failed / total:.4f} ({failed} of {total}) > {max_error_ratio}")
    for key, limit in p95_ms.items():
        matched = endpoint_rows(rows, key)
        if not any(row.requests for row in matched):
            found.append(f"{key}: no requests reached {ENDPOINT_PATHS.get(key, key)}")
        found.extend(
            f"{row.name}: p95 {row.p95_ms:g} ms > {limit:g} ms"
            for row in matched
            if row.requests and row.p95_ms > limit
        )
    return found


def _number(text: str) -> float:
    # locust writes "N/A" for a percentile of a name without samples.
    try:
        return float(text)
    except ValueError:
        return 0.0
