"""The issue's goals: ratios and limits computed from the measurements, each verdict right."""

from __future__ import annotations

import pytest

from loadtest.bench.goals import Check, checks, overload_checks, ratio
from tests.loadtest.bench.sample_results import RESULTS, measured


def by_name(found: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in found}


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(3.0, 4.0, 0.75), (None, 4.0, None), (3.0, None, None), (3.0, 0.0, None)],
)
def test_ratio_is_none_when_a_side_is_missing(
    numerator: float | None, denominator: float | None, expected: float | None
) -> None:
    assert ratio(numerator, denominator) == expected


def test_the_goals_are_computed_from_peaks_and_ceilings() -> None:
    found = by_name(checks(RESULTS))
    assert found["/predict/digit vs no-op (peak req/s)"].value == pytest.approx(3600 / 5000)
    assert found["/predict/digit vs no-op (peak req/s)"].passed is True
    assert found["/predict/digit vs Keras per request"].value == pytest.approx(120)
    assert found["/sentiment vs Keras per request"].value == pytest.approx(40)
    assert found["/sentiment vs Keras per request"].passed is False
    # 60 requests/s × 16 images against the best batch size of the raw generator.
    assert found["/generate images/s vs raw onnxruntime"].value == pytest.approx(960 / 1200)
    assert found["/predict/digit p99 at 32 connections"].value == 18.0
    assert found["/predict/digit p99 at 32 connections"].passed is False  # over 15 ms


def test_round_two_goals_compare_within_the_same_run() -> None:
    found = by_name(checks(RESULTS))
    png = found["/predict/digit PNG upload vs no-op (2× the 0.19× before)"]
    assert png.value == pytest.approx(0.4)
    assert (png.limit, png.passed) == (0.38, True)
    defaults = found["`make serve` defaults vs minimal server, /predict/digit (one process each)"]
    assert defaults.value == pytest.approx(0.75)
    assert defaults.passed is True
    generate = found["/generate images/s: JSON vs PNG grid"]
    assert generate.value == pytest.approx(0.4)
    assert generate.passed is False


def test_overload_passes_when_excess_is_shed_with_retry_after() -> None:
    found = by_name(checks(RESULTS))
    assert found["overload: 5xx and other errors"].passed is True
    assert found["overload: requests shed with 429"].value == 9000
    assert found["overload: 429s without Retry-After"].passed is True


def test_overload_fails_on_a_5xx_and_on_a_bare_429() -> None:
    broken = measured("overload", "digit-pixels", 1280, 10, server_errors=1, rejected=5,
                      missing_retry_after=1)  # fmt: skip
    found = by_name(overload_checks([broken]))
    assert found["overload: 5xx and other errors"].passed is False
    assert found["overload: 429s without Retry-After"].passed is False


def test_a_missing_measurement_is_not_measured_rather_than_failed() -> None:
    found = checks(RESULTS | {"measurements": [], "ceilings": []})
    assert {check.passed for check in found} == {None}
