"""SLO checks on locust's stats CSV: thresholds parse, and each kind of miss is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.locust.slo import (
    AGGREGATED,
    RequestStats,
    breaches,
    endpoint_rows,
    parse_thresholds,
    read_stats,
)

HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,"
    "80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)
ROWS = [
    "GET,/generate,27,0,52,59.9,13.9,143.9,6755.7,3.39,0.0,52,64,76,80,99,140,140,140,140,140,140",
    "POST,/predict/digit [pixels],112,0,6,11,1,89,206,14.0,0,6,10,15,16,25,43,81,84,90,90,90",
    "POST,/predict/digit [png],40,0,6,11.5,1.5,89.8,206.5,4.0,0.0,6,10,15,16,25,61,81,84,90,90,90",
    "POST,/sentiment,70,1,8,14.0,1.0,91.0,100.0,8.47,0.1,8,14,17,20,38,50,84,92,92,92,92",
    ",Aggregated,249,1,9,18.0,1.0,143.9,500.0,30.0,0.1,9,15,20,26,52,76,90,120,140,140,140",
]


def stats(*names: tuple[str, int, int, float]) -> list[RequestStats]:
    return [
        RequestStats(name, requests, failures, p95, 1.0) for name, requests, failures, p95 in names
    ]


def test_read_stats_parses_locusts_csv(tmp_path: Path) -> None:
    path = tmp_path / "locust_stats.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n")
    rows = read_stats(path)
    assert [row.name for row in rows][-1] == AGGREGATED
    assert rows[1] == RequestStats("/predict/digit [pixels]", 112, 0, 43.0, 14.0)


def test_a_percentile_locust_could_not_compute_reads_as_zero(tmp_path: Path) -> None:
    path = tmp_path / "locust_stats.csv"
    path.write_text(HEADER + "\nGET,/generate,0,0,0,0,0,0,0,0,0" + ",N/A" * 11 + "\n")
    assert read_stats(path)[0].p95_ms == 0.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("digit=50,sentiment=100,generate=300", {"digit": 50, "sentiment": 100, "generate": 300}),
        (" digit = 12.5 , ", {"digit": 12.5}),
        ("/v1/models=20", {"/v1/models": 20}),
        ("", {}),
    ],
)
def test_thresholds_parse(text: str, expected: dict[str, float]) -> None:
    assert parse_thresholds(text) == expected


@pytest.mark.parametrize(
    ("text", "complaint"), [("digit", "KEY=MILLISECONDS"), ("gan=3", "unknown")]
)
def test_bad_thresholds_are_refused_with_the_format(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_thresholds(text)


def test_an_endpoint_covers_every_variant_of_its_path() -> None:
    rows = stats(
        ("/predict/digit [png]", 1, 0, 1),
        ("/predict/digit [pixels]", 1, 0, 1),
        ("/sentiment", 1, 0, 1),
    )
    assert [row.name for row in endpoint_rows(rows, "digit")] == [
        "/predict/digit [png]",
        "/predict/digit [pixels]",
    ]


def test_a_clean_run_meets_every_slo() -> None:
    rows = stats(
        ("/predict/digit [png]", 10, 0, 40), ("/sentiment", 10, 0, 90), (AGGREGATED, 20, 0, 90)
    )
    assert breaches(rows, {"digit": 50, "sentiment": 100}) == []


def test_any_failure_breaches_the_default_error_ratio() -> None:
    rows = stats(("/sentiment", 999, 1, 10))
    assert breaches(rows, {}) == ["error ratio 0.0010 (1 of 999) > 0.0"]
    assert breaches(rows, {}, max_error_ratio=0.01) == []


def test_each_variant_over_its_p95_is_reported() -> None:
    rows = stats(("/predict/digit [png]", 10, 0, 61), ("/predict/digit [pixels]", 10, 0, 43))
    assert breaches(rows, {"digit": 50}) == ["/predict/digit [png]: p95 61 ms > 50 ms"]


def test_an_endpoint_without_requests_is_a_breach() -> None:
    rows = stats(("/predict/digit [png]", 10, 0, 10), ("/generate", 0, 0, 0))
    assert breaches(rows, {"generate": 300}) == ["generate: no requests reached /generate"]


def test_a_run_without_requests_is_a_breach() -> None:
    assert breaches([], {}) == ["no requests were made"]
