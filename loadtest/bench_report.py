"""The bench's results → the checks against the issue's targets, tables and docs/benchmarks.md.

Everything here is computed from `results.json`; no number in the report is typed by hand.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from loadtest.ceiling import Ceiling, best
from loadtest.drivers import Measurement
from loadtest.targets import GENERATE_COUNT

Results = dict[str, Any]
# Load average per core above which the machine was too busy for the numbers to be clean.
QUIET_LOAD_PER_CORE = 0.25
P99_CONCURRENCY = 32


@dataclass(frozen=True)
class Check:
    """One target of the issue: the measured value and whether it was met (None: not measured)."""

    name: str
    value: float | None
    comparison: str  # "≥" or "≤"
    limit: float
    unit: str  # "×", "ms" or "requests"

    @property
    def passed(self) -> bool | None:
        """Whether the value meets the limit; None when it was not measured."""
        if self.value is None:
            return None
        return self.value >= self.limit if self.comparison == "≥" else self.value <= self.limit


def save(results: Results, path: Path) -> None:
    """Write results (dataclasses included) as JSON."""
    path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))


def load(path: Path) -> Results:
    """Read results written by `save`, dataclasses rebuilt."""
    results: Results = orjson.loads(path.read_bytes())
    results["measurements"] = [Measurement(**m) for m in results["measurements"]]
    results["ceilings"] = [Ceiling(**c) for c in results["ceilings"]]
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


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def at_least(name: str, value: float | None, minimum: float, unit: str = "×") -> Check:
    """A check that `value` ≥ `minimum`."""
    return Check(name, value, "≥", minimum, unit)


def at_most(name: str, value: float | None, maximum: float, unit: str) -> Check:
    """A check that `value` ≤ `maximum`."""
    return Check(name, value, "≤", maximum, unit)


def quantity(value: float | None, unit: str) -> str:
    """A value with its unit as the report shows it: 0.83×, 12.4 ms, 1,909 requests."""
    if value is None:
        return "-"
    if unit == "×":
        return f"{value:,.2f}×"
    if unit == "ms":
        return f"{value:,.1f} ms"
    return f"{value:,.0f} {unit}"


def checks(results: Results) -> list[Check]:
    """Every target of the issue, from the measurements."""
    ms: list[Measurement] = results["measurements"]

    def rate(server: str, target: str) -> float | None:
        found = peak(ms, server, target)
        return found.throughput if found else None

    raw_gan = best(results["ceilings"], "gan-dcgan")
    generate = rate("service", "generate")
    generate_images = generate * GENERATE_COUNT if generate is not None else None
    p99 = at(ms, "service", "digit-pixels", P99_CONCURRENCY)
    return [
        at_least(
            "/predict/digit vs no-op (peak req/s)",
            ratio(rate("service", "digit-pixels"), rate("noop", "noop")),
            0.70,
        ),
        at_least(
            "/predict/digit vs Keras per request",
            ratio(rate("service", "digit-pixels"), rate("keras", "digit-pixels")),
            100,
        ),
        at_least(
            "/sentiment vs Keras per request",
            ratio(rate("service", "sentiment"), rate("keras", "sentiment")),
            50,
        ),
        at_least(
            "/generate images/s vs raw onnxruntime",
            ratio(
                generate_images,
                raw_gan.samples_per_s if raw_gan else None,
            ),
            0.80,
        ),
        at_most(
            f"/predict/digit p99 at {P99_CONCURRENCY} connections",
            p99.p99_ms if p99 else None,
            20,
            "ms",
        ),
        *overload_checks(ms),
    ]


def overload_checks(measurements: list[Measurement]) -> list[Check]:
    """At ~2× capacity, admitted requests must succeed and the excess get 429 + Retry-After."""
    run = next((m for m in measurements if m.server == "overload"), None)
    if run is None:
        return [at_most("overload: 5xx and other errors", None, 0, "requests")]
    return [
        at_most("overload: 5xx and other errors", run.errors, 0, "requests"),
        at_least("overload: requests shed with 429", run.rejected, 1, "requests"),
        at_most("overload: 429s without Retry-After", run.missing_retry_after, 0, "requests"),
    ]


def progress_line(m: Measurement) -> str:
    """One measurement as a line of progress output."""
    return (
        f"{m.server:>9} {m.target:<12} c={m.concurrency:<4} {m.throughput:9.1f} req/s  "
        f"p50 {m.p50_ms:8.2f} ms  p99 {m.p99_ms:8.2f} ms  errors {m.errors}  429 {m.rejected}"
    )


def measurement_table(measurements: list[Measurement]) -> str:
    """Markdown: one row per server, target and concurrency."""
    lines = [
        "| server | endpoint | connections | req/s | p50 ms | p99 ms | errors | 429 |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    lines += [
        f"| {m.server} | {m.target} | {m.concurrency} | {m.throughput:,.1f} | {m.p50_ms:.2f} "
        f"| {m.p99_ms:.2f} | {m.errors} | {m.rejected} |"
        for m in measurements
    ]
    return "\n".join(lines)


def ceiling_table(ceilings: list[Ceiling]) -> str:
    """Markdown: each model's best batch size, its samples/s, and samples/s one at a time."""
    lines = [
        "| model | best batch | samples/s at best | samples/s at batch 1 | "
        f"samples/s at batch {GENERATE_COUNT} |",
        "|---|--:|--:|--:|--:|",
    ]
    for model in dict.fromkeys(c.model for c in ceilings):
        top = best(ceilings, model)
        assert top is not None
        sizes = {c.batch_size: c.samples_per_s for c in ceilings if c.model == model}
        one, mid = sizes.get(1), sizes.get(GENERATE_COUNT)
        lines.append(
            f"| {model} | {top.batch_size} | {top.samples_per_s:,.0f} | "
            f"{_maybe(one, ',.0f')} | {_maybe(mid, ',.0f')} |"
        )
    return "\n".join(lines)


def checks_table(found: list[Check]) -> str:
    """Markdown: each target, its measured value and PASS/MISS."""
    verdict = {True: "PASS", False: "**MISS**", None: "not measured"}
    lines = ["| target | measured | wanted | result |", "|---|--:|--:|---|"]
    lines += [
        f"| {c.name} | {quantity(c.value, c.unit)} | {c.comparison} "
        f"{quantity(c.limit, c.unit).replace('.00×', '×')} | {verdict[c.passed]} |"
        for c in found
    ]
    return "\n".join(lines)


def contention(results: Results) -> str:
    """How busy the machine was, from the load average around the run."""
    cores = int(results["machine"]["nproc"])
    before, after = results["load_average"]["before"][0], results["load_average"]["after"][0]
    quiet = before / cores < QUIET_LOAD_PER_CORE
    state = "quiet" if quiet else "**busy with other work: treat the numbers as lower bounds**"
    return (
        f"1-minute load average {before:.2f} before the run and {after:.2f} after it "
        f"(the bench's own load included), on {cores} cores: {state}."
    )


def _maybe(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def timestamp(results: Results) -> str:
    """When the run started, in UTC."""
    started = datetime.datetime.fromtimestamp(results["started_at"], tz=datetime.UTC)
    return started.strftime("%Y-%m-%d %H:%M UTC")
