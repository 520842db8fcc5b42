"""The measured service rate: what decides inline runs and Retry-After."""

from __future__ import annotations

import math

import pytest

from service.service_rate import SMOOTHING, UNMEASURED_DRAIN_FACTOR, ServiceRate


def test_unknown_until_a_batch_has_run() -> None:
    rate = ServiceRate()
    assert math.isinf(rate.expected_s(1))
    assert rate.drain_s(640, unknown_rate=64) == 10.0


def test_the_first_batch_sets_the_rate_and_later_ones_move_it_smoothly() -> None:
    rate = ServiceRate()
    rate.observe(rows=100, seconds=0.01)  # 10,000 rows/s
    assert rate.expected_s(50) == pytest.approx(0.005)
    rate.observe(rows=100, seconds=0.1)  # 1,000 rows/s
    assert rate.rows_per_s == pytest.approx(10_000 + SMOOTHING * (1_000 - 10_000))


def test_retry_after_is_never_under_a_second() -> None:
    rate = ServiceRate()
    rate.observe(rows=1000, seconds=0.001)
    assert rate.drain_s(3, unknown_rate=64) == 1.0


def test_the_drain_rate_comes_from_queue_waits_and_predicts_the_next_wait() -> None:
    rate = ServiceRate()
    assert rate.predicted_wait_s(100) == 0.0, "nothing measured: no prediction"
    rate.observe(rows=100, seconds=0.01)  # inference alone: 10,000 rows/s
    assert rate.predicted_wait_s(100) == pytest.approx(0.01 * UNMEASURED_DRAIN_FACTOR)
    rate.observe_wait(rows_ahead=100, waited_s=0.5)  # the queue really drains at 200 rows/s
    assert rate.predicted_wait_s(100) == pytest.approx(0.5)
    assert rate.drain_s(400, unknown_rate=64) == pytest.approx(2.0)


def test_a_wait_with_nothing_ahead_says_nothing_about_the_drain() -> None:
    rate = ServiceRate()
    rate.observe_wait(rows_ahead=0, waited_s=0.3)
    assert rate.drain_rows_per_s is None
