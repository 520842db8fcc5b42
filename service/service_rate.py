"""A model's measured service rate (rows per second), smoothed over recent batches.

The batcher uses it to decide whether a batch is quick enough to run on the event loop, and to
tell a shed client how long the queue ahead of it will take (Retry-After).
"""

from __future__ import annotations

# Weight of the newest batch in the moving average.
SMOOTHING = 0.2


class ServiceRate:
    """Exponentially smoothed rows per second; unknown until the first batch has run."""

    def __init__(self) -> None:
        self.rows_per_s: float | None = None

    def observe(self, rows: int, seconds: float) -> None:
        """Fold one batch of `rows` that took `seconds` into the estimate."""
        rate = rows / max(seconds, 1e-6)
        previous = self.rows_per_s
        self.rows_per_s = rate if previous is None else previous + SMOOTHING * (rate - previous)

    def expected_s(self, rows: int) -> float:
        """How long `rows` will take (infinite until a batch has run)."""
        return rows / self.rows_per_s if self.rows_per_s else float("inf")

    def drain_s(self, rows: int, unknown_rate: float) -> float:
        """Seconds to work through `rows`, at least 1; `unknown_rate` rows/s before any batch."""
        return max(1.0, rows / (self.rows_per_s or unknown_rate))
