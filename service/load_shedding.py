"""When a model's queue refuses a request, and what it tells the client to do.

Two limits, both checked before the body is read. The queue's capacity counts requests (as in
Triton), so it means the same on every route. The predicted wait weighs the rows already ahead
at the measured drain rate: a queue of 200 requests of 64 images each is 30 s of work against a
10 s deadline, and admitting more only turns 429s now into 503s ten seconds later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.errors import Overloaded
from service.service_rate import ServiceRate

if TYPE_CHECKING:
    from service.batching import BatcherConfig

# Admit while the predicted wait is within this share of the deadline: the prediction is an
# average, and a request admitted at 9.9 s of a 10 s deadline misses it on any hiccup.
ADMIT_WITHIN = 0.8


@dataclass(frozen=True)
class QueueState:
    """One model's queue as a newcomer finds it."""

    requests: int
    rows_ahead: int  # queued and running
    drain_s: float  # until it has likely drained (the Retry-After for a full queue)


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused (the shed metric's label) and the error to answer with."""

    reason: str
    error: Overloaded


def refusal(
    model: str, config: BatcherConfig, queue: QueueState, places: int, rate: ServiceRate
) -> Refusal | None:
    """None to admit a request taking `places` queue places, else why not."""
    # An empty queue admits any size: a request bigger than the capacity must not wait forever.
    if not queue.requests:
        return None
    if queue.requests + places > config.queue_capacity:
        message = (
            f"model {model} has {queue.requests} requests queued (capacity "
            f"{config.queue_capacity}); retry after the Retry-After delay"
        )
        return Refusal("queue_full", Overloaded(message, retry_after_s=queue.drain_s))
    wait_s = rate.predicted_wait_s(queue.rows_ahead)
    budget_s = ADMIT_WITHIN * config.timeout_s
    if wait_s <= budget_s:
        return None
    message = (
        f"model {model} has {queue.rows_ahead} rows ahead, about {wait_s:.1f} s of work at its "
        f"measured rate, more than it may wait ({budget_s:g} s of its {config.timeout_s:g} s "
        "deadline); retry after the Retry-After delay"
    )
    retry_after_s = max(1.0, wait_s - budget_s)
    return Refusal("predicted_wait", Overloaded(message, retry_after_s=retry_after_s))
