"""Admission: a full queue and a predicted wait past the deadline refuse; rows are weighed."""

from __future__ import annotations

import pytest

from service.batching import BatcherConfig
from service.load_shedding import QueueState, refusal
from service.service_rate import ServiceRate

CONFIG = BatcherConfig(max_batch_rows=64, max_queue_delay_s=0.001, queue_capacity=8, timeout_s=10)


def draining_at(rows_per_s: float) -> ServiceRate:
    rate = ServiceRate()
    rate.observe_wait(rows_ahead=int(rows_per_s), waited_s=1.0)
    return rate


def test_an_empty_queue_admits_any_size() -> None:
    assert refusal("m", CONFIG, QueueState(0, 10_000, 1.0), 50, draining_at(1)) is None


def test_a_full_queue_refuses_by_request_count() -> None:
    refused = refusal("m", CONFIG, QueueState(8, 8, 3.0), 1, draining_at(1000))
    assert refused is not None
    assert refused.reason == "queue_full"
    assert refused.error.status_code == 429
    assert refused.error.retry_after_s == 3.0
    assert "8 requests queued (capacity 8)" in refused.error.message


@pytest.mark.parametrize(
    ("rows_ahead", "admitted"),
    [
        (63, True),  # one request of count=64 ahead of a count=1: 6.3 s at 10 rows/s
        (64 * 2, False),  # two requests of 64 images: 12.8 s of work, past the 10 s deadline
        (7, True),  # seven requests of one image: 0.7 s
        (81, False),  # 8.1 s: within the deadline, but not within the 8 s it may wait
    ],
)
def test_the_predicted_wait_weighs_the_rows_ahead(rows_ahead: int, admitted: bool) -> None:
    queue = QueueState(requests=2, rows_ahead=rows_ahead, drain_s=1.0)
    assert (refusal("m", CONFIG, queue, 1, draining_at(10)) is None) is admitted


def test_a_predicted_wait_refusal_says_why_and_when_to_come_back() -> None:
    refused = refusal("m", CONFIG, QueueState(2, 300, 1.0), 1, draining_at(20))
    assert refused is not None
    assert refused.reason == "predicted_wait"
    assert refused.error.status_code == 429
    assert "300 rows ahead, about 15.0 s of work" in refused.error.message
    assert "more than it may wait (8 s of its 10 s deadline)" in refused.error.message
    assert refused.error.retry_after_s == pytest.approx(7.0)


def test_nothing_measured_yet_admits_up_to_the_capacity() -> None:
    assert refusal("m", CONFIG, QueueState(7, 7 * 64, 1.0), 1, ServiceRate()) is None
