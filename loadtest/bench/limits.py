"""The second round's goals against floors measured in the same run: what each goal would need.

A goal the page marks MISS is not argued away: each line here puts the measured figure beside a
ceiling from the same run (the no-op's own latency, a request's CPU cost, the model's compute),
so a reader sees whether the goal is a tuning matter or beyond this design on this machine.
"""

from __future__ import annotations

from loadtest.bench.ceiling import best
from loadtest.bench.drivers import Measurement
from loadtest.bench.goals import (
    P99_CONCURRENCY,
    P99_GOAL_MS,
    PIXELS_VS_NOOP_GOAL,
    PNG_VS_NOOP_BEFORE,
)
from loadtest.bench.results import Results, at, core_us, peak

# The PNG upload's peak against pixel JSON's on 2026-11-23 (2,236 vs 6,801 req/s).
PNG_VS_PIXELS_BEFORE = 0.33


def limits_text(results: Results) -> str:
    """One line per second-round goal that has the measurements it needs."""
    measurements: list[Measurement] = results["measurements"]
    cores = int(results["machine"]["nproc"])

    def cost(server: str, target: str) -> float | None:
        """Core-µs per request at the peak, machine-wide: the load driver's share included."""
        found = peak(measurements, server, target)
        return core_us(cores, found.throughput) if found and found.throughput else None

    noop, pixels, png = (
        cost("noop", "noop"),
        cost("service", "digit-pixels"),
        cost("service", "digit-png"),
    )
    lines = [_latency_line(measurements)]
    if noop and pixels and png:
        needed = noop / (2 * PNG_VS_NOOP_BEFORE)
        lines.append(
            f"- **PNG upload**: {png:,.0f} core-µs a request against {pixels:,.0f} for pixel "
            f"JSON and {noop:,.0f} for the no-op (cores ÷ peak req/s). Twice the "
            f"{PNG_VS_NOOP_BEFORE}× of the no-op needs at most {needed:,.0f} core-µs, about "
            "what a pixel-JSON request costs before any image is decoded. "
            f"Against pixel JSON the upload went from {PNG_VS_PIXELS_BEFORE}× to "
            f"{pixels / png:.2f}× of its req/s. What would reach it: the decode (its largest part "
            "in the profile) on cores that are not also serving HTTP."
        )
    cnn = best(results["ceilings"], "digits-cnn")
    if noop and pixels and cnn:
        compute = core_us(cores, cnn.samples_per_s)
        allowed = noop / PIXELS_VS_NOOP_GOAL
        lines.append(
            f"- **Pixel JSON vs no-op**: {PIXELS_VS_NOOP_GOAL:.2f}× needs at most {allowed:,.0f} "
            "core-µs a request; "
            f"it costs {pixels:,.0f}: the no-op's {noop:,.0f}, the CNN's own {compute:,.0f} at its "
            f"best batch (the compute ceiling), and {pixels - noop - compute:,.0f} of the "
            "request's own work (2 KB of JSON into numpy and its checks, the batch queue, the "
            "answer), split by part in the profile above. Beside the CNN the goal leaves "
            f"{max(allowed - noop - compute, 0):,.0f} core-µs for all of that. What would reach "
            "it: parsing and batching outside Python, as Triton's C++ front end does. The HTTP "
            "stack, middleware and access log are on both sides of the ratio: making them cheaper "
            "lowers it."
        )
    if (defaults := cost("defaults", "digit-pixels")) and (
        minimal := cost("minimal", "digit-pixels")
    ):
        lines.append(
            f"- **`make serve` vs the minimal server**: {defaults:,.0f} against {minimal:,.0f} "
            "core-µs a request. The minimal server has no access log, metrics, request ids, body "
            "limits, drain, admission control, batching or input checks beyond numpy's: the gap is "
            "their price, part by part in the profile."
        )
    return "\n".join(line for line in lines if line)


def _latency_line(measurements: list[Measurement]) -> str:
    service = at(measurements, "service", "digit-pixels", P99_CONCURRENCY)
    noop = at(measurements, "noop", "noop", P99_CONCURRENCY)
    if service is None or noop is None or not service.throughput:
        return ""
    # Little's law: a closed loop of N connections answered at R req/s waits N / R on average.
    mean_ms = P99_CONCURRENCY / service.throughput * 1e3
    spread = service.p99_ms / mean_ms
    needed = P99_CONCURRENCY / (P99_GOAL_MS / spread / 1e3)
    return (
        f"- **p99 at {P99_CONCURRENCY} connections**: {service.p99_ms:.1f} ms, where the no-op's "
        f"own p99 was {noop.p99_ms:.1f} ms in the same run. {P99_CONCURRENCY} connections "
        f"answered at {service.throughput:,.0f} req/s wait {mean_ms:.1f} ms on average (Little's "
        f"law: connections ÷ req/s), and the p99 was {spread:.1f}× that mean. At that spread, "
        f"{P99_GOAL_MS:g} ms needs {needed:,.0f} req/s, {needed / service.throughput:.1f}× this "
        "run's: a throughput goal in disguise. What would reach it: that throughput (more cores "
        "for server and load driver than these 2), or fewer connections per core."
    )
