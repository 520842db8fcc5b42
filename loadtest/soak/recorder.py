"""What the soak records while it runs: every request's latency and outcome, and the server's RSS.

The figures are kept per window (a minute, shorter for short runs), so the end of a run can be
compared with its start.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import gevent
import numpy as np
import psutil

MB = 1024 * 1024


@dataclass(frozen=True)
class Window:
    """One stretch of the run."""

    index: int
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    rss_mb: float | None  # the server's RSS at the window's end


@dataclass
class Recorder:
    """Every request's latency and outcome, and the server's RSS over time."""

    started: float
    window_s: float
    pid: int | None
    latencies: dict[int, list[float]] = field(default_factory=dict)
    errors: dict[int, int] = field(default_factory=dict)
    error_kinds: Counter[str] = field(default_factory=Counter)
    rss: list[tuple[float, int]] = field(default_factory=list)

    def on_request(self, response_time: float, exception: Exception | None, **_: object) -> None:
        """locust's `request` event: one finished request."""
        index = int((time.monotonic() - self.started) // self.window_s)
        self.latencies.setdefault(index, []).append(response_time)
        if exception is not None:
            self.errors[index] = self.errors.get(index, 0) + 1
            self.error_kinds[str(exception)[:160]] += 1

    def sample(self) -> None:
        """The server's RSS now (its worker processes included)."""
        if self.pid is None:
            return
        try:
            root = psutil.Process(self.pid)
            total = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
        except psutil.Error:
            return
        self.rss.append((time.monotonic() - self.started, total))

    def sample_every(self, seconds: float) -> None:
        """Sample until killed (a greenlet)."""
        while True:
            self.sample()
            gevent.sleep(seconds)

    def windows(self, count: int) -> list[Window]:
        """Per-window figures for windows 0 … count-1."""
        return [self._window(index) for index in range(count)]

    def _window(self, index: int) -> Window:
        latencies = np.asarray(self.latencies.get(index, [0.0]))
        end = (index + 1) * self.window_s
        samples = [rss for at, rss in self.rss if at <= end + 0.5]
        return Window(
            index=index,
            requests=len(self.latencies.get(index, [])),
            errors=self.errors.get(index, 0),
            rps=round(len(self.latencies.get(index, [])) / self.window_s, 1),
            p50_ms=round(float(np.percentile(latencies, 50)), 1),
            p99_ms=round(float(np.percentile(latencies, 99)), 1),
            rss_mb=round(samples[-1] / MB, 1) if samples else None,
        )
