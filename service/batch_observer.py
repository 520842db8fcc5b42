"""What a batcher tells the outside: one record per batch, each load shed, the queue depth.

The metrics module implements `BatchObserver`; tests record everything with one of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class BatchRecord:
    """What one batch was made of, for metrics and tests."""

    rows: int
    requests: int
    queue_waits_s: tuple[float, ...]  # per request: enqueued → batch dispatched
    gather_wait_s: float  # time the batcher waited for more requests to join (0: none)
    inference_s: float


class BatchObserver(Protocol):
    """Receives what the batcher does (the metrics module implements it)."""

    def batch_done(self, model: str, record: BatchRecord) -> None: ...

    def shed(self, model: str, reason: str) -> None: ...

    def queued(self, model: str, requests: int) -> None: ...
