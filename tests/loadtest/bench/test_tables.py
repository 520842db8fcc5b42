"""The bench's tables: quantities read naturally and each row carries its numbers."""

from __future__ import annotations

import pytest

from loadtest.bench.goals import checks
from loadtest.bench.tables import (
    checks_table,
    measurement_table,
    perf_analyzer_table,
    profile_table,
    quantity,
)
from tests.loadtest.bench.sample_results import MEASUREMENTS, RESULTS


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(0.7234, "×", "0.72×"), (18.04, "ms", "18.0 ms"), (9000, "requests", "9,000 requests"),
     (None, "ms", "-")],
)  # fmt: skip
def test_quantities_read_naturally(value: float | None, unit: str, text: str) -> None:
    assert quantity(value, unit) == text


def test_each_measurement_is_a_row() -> None:
    table = measurement_table(MEASUREMENTS)
    assert "| service | digit-pixels | 32 | 3,600.0 | 1.00 | 18.00 | 0 | 0 |" in table
    assert len(table.splitlines()) == 2 + len(MEASUREMENTS)


def test_each_goal_gets_its_verdict() -> None:
    table = checks_table(checks(RESULTS))
    assert "| /sentiment vs Keras per request | 40.00× | ≥ 50× | **MISS** |" in table
    assert "| /predict/digit p99 at 32 connections | 18.0 ms | ≤ 15.0 ms | **MISS** |" in table


def test_perf_analyzer_rows_sit_beside_the_human_endpoint_measured_by_wrk() -> None:
    table = perf_analyzer_table(RESULTS["perf_analyzer"], RESULTS["measurements"])
    assert "| digits-cnn | 32 | 3,100.0 | 9.00 | 16.00 | digit-pixels | 3,600.0 | 18.00 |" in table
    assert "| digits-cnn | 8 | 2,500.0 | 3.00 | 6.00 | digit-pixels | 3,000.0 | 10.00 |" in table
    assert (
        "| sentiment-lstm | 32 | 1,200.0 | 20.00 | 41.00 | sentiment | 1,000.0 | 10.00 |" in table
    )


def test_the_profile_table_gives_each_part_in_core_microseconds_per_target() -> None:
    table = profile_table(RESULTS["profile"])
    assert "| part of a request | digit-pixels | sentiment |" in table
    assert "| **core-µs per request** | **200** | **400** |" in table
    assert "| onnxruntime | 50 (25%) | 300 (75%) |" in table
    assert "| logging | 50 (25%) | 0 (0%) |" in table
