"""The bench's report: ratios and targets computed from measurements, and the rendered page."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest import bench_doc, bench_report
from loadtest.bench_report import Check, checks, peak, ratio
from loadtest.ceiling import Ceiling, best
from loadtest.drivers import Measurement


def measured(server: str, target: str, level: int, ok: int, **fields: object) -> Measurement:
    values: dict[str, object] = {
        "duration_s": 1.0, "rejected": 0, "server_errors": 0, "other_errors": 0,
        "missing_retry_after": 0, "p50_ms": 1.0, "p99_ms": 10.0,
    }  # fmt: skip
    return Measurement(server, target, level, ok=ok, **(values | fields))  # type: ignore[arg-type]


MEASUREMENTS = [
    measured("noop", "noop", 8, 4000),
    measured("noop", "noop", 32, 5000),
    measured("service", "digit-pixels", 8, 3000),
    measured("service", "digit-pixels", 32, 3600, p99_ms=18.0),
    measured("service", "sentiment", 32, 1000),
    measured("service", "generate", 8, 60),
    measured("keras", "digit-pixels", 32, 30),
    measured("keras", "sentiment", 32, 25),
    measured("overload", "digit-pixels", 1280, 2000, rejected=9000, missing_retry_after=0),
]
CEILINGS = [Ceiling("gan-dcgan", 16, 1100.0), Ceiling("gan-dcgan", 32, 1200.0)]
RESULTS: bench_report.Results = {
    "machine": {
        "nproc": "2", "cpu": "AMD EPYC", "threads_per_core": "1", "hypervisor": "KVM",
        "memory_gib": 23.5, "kernel": "6", "python": "3.11", "gpu": "none",
        "packages": {"onnxruntime": "1.31.1", "tensorflow": "-"}, "driver": "wrk",
        "driver_version": "wrk 4.1.0",
    },
    "command": "python -m loadtest.bench",
    "settings": {"providers": "cpu", "workers": 2},
    "parameters": {
        "duration": 5.0, "warmup": 1.0, "ceiling_seconds": 0.5, "overload_seconds": 8.0,
        "overload_concurrency": 1280,
    },
    "load_average": {"before": [0.1, 0.1, 0.1], "after": [1.5, 0.5, 0.2]},
    "started_at": 1_700_000_000.0,
    "elapsed_s": 300.0,
    "ceilings": CEILINGS,
    "measurements": MEASUREMENTS,
}  # fmt: skip


def by_name(found: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in found}


def test_peak_picks_the_concurrency_with_the_most_successful_requests() -> None:
    top = peak(MEASUREMENTS, "service", "digit-pixels")
    assert top is not None
    assert top.concurrency == 32
    assert peak(MEASUREMENTS, "unbatched", "digit-pixels") is None


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(3.0, 4.0, 0.75), (None, 4.0, None), (3.0, None, None), (3.0, 0.0, None)],
)
def test_ratio_is_none_when_a_side_is_missing(
    numerator: float | None, denominator: float | None, expected: float | None
) -> None:
    assert ratio(numerator, denominator) == expected


def test_the_targets_are_computed_from_peaks_and_ceilings() -> None:
    found = by_name(checks(RESULTS))
    assert found["/predict/digit vs no-op (peak req/s)"].value == pytest.approx(3600 / 5000)
    assert found["/predict/digit vs no-op (peak req/s)"].passed is True
    assert found["/predict/digit vs Keras per request"].value == pytest.approx(120)
    assert found["/sentiment vs Keras per request"].value == pytest.approx(40)
    assert found["/sentiment vs Keras per request"].passed is False
    # 60 requests/s × 16 images against the best batch size of the raw generator.
    assert found["/generate images/s vs raw onnxruntime"].value == pytest.approx(960 / 1200)
    assert found["/predict/digit p99 at 32 connections"].value == 18.0
    assert found["/predict/digit p99 at 32 connections"].passed is True


def test_overload_passes_when_excess_is_shed_with_retry_after() -> None:
    found = by_name(checks(RESULTS))
    assert found["overload: 5xx and other errors"].passed is True
    assert found["overload: requests shed with 429"].value == 9000
    assert found["overload: 429s without Retry-After"].passed is True


def test_overload_fails_on_a_5xx_and_on_a_bare_429() -> None:
    broken = measured("overload", "digit-pixels", 1280, 10, server_errors=1, rejected=5,
                      missing_retry_after=1)  # fmt: skip
    found = by_name(bench_report.overload_checks([broken]))
    assert found["overload: 5xx and other errors"].passed is False
    assert found["overload: 429s without Retry-After"].passed is False


def test_a_missing_measurement_is_not_measured_rather_than_failed() -> None:
    found = checks(RESULTS | {"measurements": [], "ceilings": []})
    assert {check.passed for check in found} == {None}


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(0.7234, "×", "0.72×"), (18.04, "ms", "18.0 ms"), (9000, "requests", "9,000 requests"),
     (None, "ms", "-")],
)  # fmt: skip
def test_quantities_read_naturally(value: float | None, unit: str, text: str) -> None:
    assert bench_report.quantity(value, unit) == text


def test_best_batch_is_the_fastest_per_sample() -> None:
    top = best(CEILINGS, "gan-dcgan")
    assert top is not None
    assert top.batch_size == 32


def test_the_page_has_the_tables_and_the_verdicts(tmp_path: Path) -> None:
    text = bench_doc.render(RESULTS, checks(RESULTS))
    assert "| service | digit-pixels | 32 | 3,600.0 | 1.00 | 18.00 | 0 | 0 |" in text
    assert "| /sentiment vs Keras per request | 40.00× | ≥ 50× | **MISS** |" in text
    assert "| gan-dcgan | 32 | 1,200 | - | 1,100 |" in text
    assert "9,000 shed with 429 (0 without Retry-After)" in text
    assert "quiet" in text
    assert "AMD EPYC" in text


def test_results_survive_a_round_trip_and_render_a_plot(tmp_path: Path) -> None:
    bench_report.save(RESULTS, tmp_path / "results.json")
    loaded = bench_report.load(tmp_path / "results.json")
    assert loaded["measurements"] == MEASUREMENTS
    assert loaded["ceilings"] == CEILINGS
    found = bench_doc.write(loaded, tmp_path / "reports", tmp_path / "docs" / "benchmarks.md")
    assert len(found) == 8
    assert (tmp_path / "docs" / "benchmarks.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "reports" / "benchmarks.md").read_text().startswith("# Benchmarks")
