"""The bench's tables: quantities read naturally and each row carries its numbers."""

from __future__ import annotations

import pytest

from loadtest.bench.goals import checks
from loadtest.bench.tables import checks_table, measurement_table, quantity
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
    assert "| /predict/digit p99 at 32 connections | 18.0 ms | ≤ 20.0 ms | PASS |" in table
