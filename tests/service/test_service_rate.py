"""The measured service rate: what decides inline runs and Retry-After."""

from __future__ import annotations

import math

import pytest

from service.service_rate import SMOOTHING, ServiceRate


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
