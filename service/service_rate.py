"""A model's measured service rates, smoothed over recent batches and requests.

Two rates, because they answer different questions. The inference rate (rows per second of
`session.run`) says whether a batch is quick enough to run on the event loop. The drain rate
(rows ahead of a request divided by its wait in the queue) says how long a newcomer will wait:
it counts everything that slows the queue down, such as building responses on the same event
loop, which the inference rate does not see. Admission and Retry-After use it.
"""

from __future__ import annotations

# Weight of the newest sample in the moving averages.
SMOOTHING = 0.2
# Until a queue wait has been measured, the drain is assumed this much slower than inference
# alone: under a burst of `GET /generate?count=64` the queue drained 1.8× slower than warm-up
# timing said (loadtest/abuse.py), and a guess on the fast side admits work that then times out.
UNMEASURED_DRAIN_FACTOR = 2.0


def _smoothed(previous: float | None, sample: float) -> float:
    return sample if previous is None else previous + SMOOTHING * (sample - previous)


class ServiceRate:
    """Exponentially smoothed rows per second; unknown until measured."""

    def __init__(self) -> None:
        self.rows_per_s: float | None = None
        self.drain_rows_per_s: float | None = None

    def observe(self, rows: int, seconds: float) -> None:
        """Fold one batch of `rows` that took `seconds` of inference into the estimate."""
        self.rows_per_s = _smoothed(self.rows_per_s, rows / max(seconds, 1e-6))

    def observe_wait(self, rows_ahead: int, waited_s: float) -> None:
        """Fold in one request's queue wait: the `rows_ahead` of it drained in `waited_s`."""
        if rows_ahead > 0 and waited_s > 0:
            self.drain_rows_per_s = _smoothed(self.drain_rows_per_s, rows_ahead / waited_s)

    def expected_s(self, rows: int) -> float:
        """How long inference of `rows` will take (infinite until a batch has run)."""
        return rows / self.rows_per_s if self.rows_per_s else float("inf")

    def predicted_wait_s(self, rows_ahead: int) -> float:
        """How long a request behind `rows_ahead` will wait; 0 while nothing has been measured."""
        if self.drain_rows_per_s:
            return rows_ahead / self.drain_rows_per_s
        if self.rows_per_s:
            return UNMEASURED_DRAIN_FACTOR * rows_ahead / self.rows_per_s
        return 0.0

    def drain_s(self, rows: int, unknown_rate: float) -> float:
        """Seconds to work through `rows`, at least 1; `unknown_rate` rows/s before any batch."""
        return max(1.0, rows / (self.drain_rows_per_s or self.rows_per_s or unknown_rate))
