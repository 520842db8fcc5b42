"""A finished soak in figures: the drift from the first window to the last, and the verdict.

Written as `soak.json` and `soak.md`, the latter a section ready for docs/reliability.md.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from loadtest.soak.recorder import MB, Recorder, Window


@dataclass(frozen=True)
class SoakSummary:
    """The run's figures and verdict."""

    started_at: str
    minutes: float
    users: int
    host: str
    requests: int
    errors: int
    error_kinds: dict[str, int]
    window_s: float
    windows: list[Window]
    p99_first_ms: float
    p99_last_ms: float
    p99_drift: float  # last / first - 1
    rss_first_mb: float | None  # at the end of the first window
    rss_end_mb: float | None
    rss_growth: float | None  # end / first - 1
    max_rss_growth: float
    failures: list[str]

    @property
    def passed(self) -> bool:
        """No failed request and RSS growth under the limit."""
        return not self.failures


def summarise(recorder: Recorder, args: argparse.Namespace, url: str) -> SoakSummary:
    """The summary of a finished run."""
    count = max(1, round(args.minutes * 60 / recorder.window_s))
    windows = recorder.windows(count)
    first, last = windows[0], windows[-1]
    rss_first, rss_end = first.rss_mb, (recorder.rss[-1][1] / MB if recorder.rss else None)
    growth = rss_end / rss_first - 1 if rss_first and rss_end else None
    requests = sum(len(values) for values in recorder.latencies.values())
    errors = sum(recorder.errors.values())
    return SoakSummary(
        started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        minutes=args.minutes,
        users=args.users,
        host=url,
        requests=requests,
        errors=errors,
        error_kinds=dict(recorder.error_kinds.most_common(10)),
        window_s=round(recorder.window_s, 1),
        windows=windows,
        p99_first_ms=first.p99_ms,
        p99_last_ms=last.p99_ms,
        p99_drift=round(last.p99_ms / first.p99_ms - 1, 3) if first.p99_ms else 0.0,
        rss_first_mb=rss_first,
        rss_end_mb=round(rss_end, 1) if rss_end else None,
        rss_growth=round(growth, 4) if growth is not None else None,
        max_rss_growth=args.max_rss_growth,
        failures=failures(requests, errors, growth, args.max_rss_growth),
    )


def failures(requests: int, errors: int, growth: float | None, max_growth: float) -> list[str]:
    """Why the run failed, in words; empty when it passed."""
    found = []
    if requests == 0:
        found.append("no request was made; see the locust log above")
    if errors:
        found.append(f"{errors} of {requests} requests failed")
    if growth is not None and growth >= max_growth:
        found.append(f"RSS grew {growth:.1%} (limit {max_growth:.0%})")
    return found


def markdown(summary: SoakSummary) -> str:
    """The summary as a section for docs/reliability.md."""
    rss = "not measured (pass --pid with --host)"
    if summary.rss_growth is not None:
        rss = f"{summary.rss_first_mb} → {summary.rss_end_mb} MB ({summary.rss_growth:+.1%})"
    verdict = "PASS" if summary.passed else "FAIL: " + "; ".join(summary.failures)
    lines = [
        f"### Soak: {summary.minutes:g} min, {summary.users} users ({summary.started_at})",
        "",
        f"- requests: {summary.requests} ({summary.requests / (summary.minutes * 60):.1f}/s), "
        f"errors: {summary.errors}",
        f"- p99 first → last window: {summary.p99_first_ms} → {summary.p99_last_ms} ms "
        f"({summary.p99_drift:+.1%})",
        f"- server RSS, end of first window → end: {rss}",
        f"- verdict: {verdict}",
        "",
        f"| window ({summary.window_s:g} s) | requests | errors | req/s | p50 ms | p99 ms "
        "| RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {w.index + 1} | {w.requests} | {w.errors} | {w.rps} | {w.p50_ms} | {w.p99_ms} | "
        f"{w.rss_mb if w.rss_mb is not None else '–'} |"
        for w in summary.windows
    ]
    lines += [f"- error: {kind} (×{n})" for kind, n in summary.error_kinds.items()]
    return "\n".join(lines) + "\n"


def write(summary: SoakSummary, out: Path) -> None:
    """soak.json and soak.md in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    data = asdict(summary) | {"passed": summary.passed}
    (out / "soak.json").write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    (out / "soak.md").write_text(markdown(summary))
