"""The bench's plot: throughput and latency against connections, beside docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path

from loadtest.bench.drivers import Measurement

PLOT_NAME = "benchmarks.png"


def plot(measurements: list[Measurement], path: Path) -> None:
    """Throughput, and p50/p99 latency, against connections: one line per server and endpoint."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on servers and CI
    from matplotlib import pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    series = dict.fromkeys((m.server, m.target) for m in measurements if m.server != "overload")
    for index, (server, target) in enumerate(series):
        rows = sorted(
            (m for m in measurements if (m.server, m.target) == (server, target)),
            key=lambda m: m.concurrency,
        )
        x, colour = [m.concurrency for m in rows], f"C{index % 10}"
        label = f"{server} {target}"
        left.plot(x, [m.throughput for m in rows], "o-", color=colour, label=label)
        right.plot(x, [m.p99_ms for m in rows], "o-", color=colour, label=f"{label} p99")
        right.plot(x, [m.p50_ms for m in rows], "x--", color=colour, alpha=0.6)
    levels = sorted({m.concurrency for m in measurements if m.server != "overload"})
    for axis, title, unit in (
        (left, "throughput", "requests/s (2xx)"),
        (right, "latency: p99 solid, p50 dashed", "ms"),
    ):
        axis.set(xscale="log", yscale="log", xlabel="connections", ylabel=unit, title=title)
        axis.set_xticks(levels, [str(level) for level in levels])
        axis.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
