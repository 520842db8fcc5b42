"""The bench's numbers as text: markdown tables (printed, and on the page) and progress lines."""

from __future__ import annotations

from typing import Any

from loadtest.bench.ceiling import Ceiling, best
from loadtest.bench.drivers import Measurement
from loadtest.bench.goals import Check
from loadtest.bench.perf_analyzer import PerfAnalyzerRow
from loadtest.bench.results import at
from loadtest.bench.targets import GENERATE_COUNT

VERDICTS = {True: "PASS", False: "**MISS**", None: "not measured"}
# The bench target that sends the same model's inputs to the human endpoint.
HUMAN_TARGETS = {"digits-cnn": "digit-pixels", "sentiment-lstm": "sentiment"}


def quantity(value: float | None, unit: str) -> str:
    """A value with its unit as the page shows it: 0.83×, 12.4 ms, 1,909 requests."""
    if value is None:
        return "-"
    if unit == "×":
        return f"{value:,.2f}×"
    if unit == "ms":
        return f"{value:,.1f} ms"
    return f"{value:,.0f} {unit}"


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


def perf_analyzer_table(rows: list[PerfAnalyzerRow], measurements: list[Measurement]) -> str:
    """Markdown: perf_analyzer on `/v2` beside wrk on the same model's human endpoint."""
    lines = [
        "| model | connections | perf_analyzer infer/s | p50 ms | p99 ms | human endpoint "
        "| wrk req/s | wrk p99 ms |",
        "|---|--:|--:|--:|--:|---|--:|--:|",
    ]
    for row in rows:
        target = HUMAN_TARGETS[row.model]
        human = at(measurements, "service", target, row.concurrency)
        wrk = f"{human.throughput:,.1f} | {human.p99_ms:.2f}" if human else "- | -"
        lines.append(
            f"| {row.model} | {row.concurrency} | {row.throughput:,.1f} | {row.p50_ms:.2f} "
            f"| {row.p99_ms:.2f} | {target} | {wrk} |"
        )
    return "\n".join(lines)


def profile_table(profile: dict[str, dict[str, Any]]) -> str:
    """Markdown: each part of a request in core-µs (and share), one column per profiled target."""
    targets = list(profile)
    parts = list(dict.fromkeys(part for run in profile.values() for part in run["parts"]))
    lines = [
        f"| part of a request | {' | '.join(targets)} |",
        f"|---|{'--:|' * len(targets)}",
        "| **core-µs per request** | "
        + " | ".join(f"**{profile[t]['core_us_per_request']:,.0f}**" for t in targets)
        + " |",
    ]
    for part in parts:
        cells = []
        for target in targets:
            share = profile[target]["parts"].get(part, 0.0)
            cells.append(f"{share * profile[target]['core_us_per_request']:,.0f} ({share:.0%})")
        lines.append(f"| {part} | {' | '.join(cells)} |")
    return "\n".join(lines)


def checks_table(found: list[Check]) -> str:
    """Markdown: each goal, its measured value and PASS/MISS."""
    lines = ["| target | measured | wanted | result |", "|---|--:|--:|---|"]
    lines += [
        f"| {c.name} | {quantity(c.value, c.unit)} | {c.comparison} "
        f"{quantity(c.limit, c.unit).replace('.00×', '×')} | {VERDICTS[c.passed]} |"
        for c in found
    ]
    return "\n".join(lines)


def machine_table(machine: dict[str, object]) -> str:
    """Markdown table of the machine facts."""
    packages = machine["packages"]
    assert isinstance(packages, dict)
    rows = {
        "CPU": f"{machine['cpu']}: {machine['nproc']} cores (`nproc`), "
        f"{machine['threads_per_core']} thread(s) per core, hypervisor {machine['hypervisor']}",
        "memory": f"{machine['memory_gib']} GiB",
        "GPU": machine["gpu"],
        "kernel, Python": f"{machine['kernel']}, {machine['python']}",
        "packages": ", ".join(f"{name} {v}" for name, v in packages.items() if v != "-"),
        "load driver": f"{machine['driver']} ({machine['driver_version']})",
    }
    return "\n".join(["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows.items())])


def _maybe(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)
