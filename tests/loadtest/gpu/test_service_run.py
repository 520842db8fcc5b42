"""The service under load: rows summarise what the clients saw, spread over client processes."""

from __future__ import annotations

import pytest

from loadtest.gpu import service_run
from loadtest.gpu.driver import Tally, spread
from loadtest.gpu.inputs import synthetic_inputs

LOAD = service_run.Load(concurrency=4, seconds=2.0, processes=1)


@pytest.mark.parametrize(
    ("concurrency", "processes", "expected"),
    [(16, 4, [4, 4, 4, 4]), (5, 2, [3, 2]), (2, 4, [1, 1, 0, 0])],
)
def test_connections_spread_evenly(concurrency: int, processes: int, expected: list[int]) -> None:
    assert spread(concurrency, processes) == expected


def test_a_row_counts_successes_and_reports_the_first_error() -> None:
    tally = Tally([float(ms) for ms in range(1, 101)], errors=2, first_error="503 draining")
    target = service_run.targets(synthetic_inputs())["generate"]
    row = service_run.bench_row("gpu", "generate", target, LOAD, tally)
    assert (row.requests, row.errors, row.requests_per_s) == (100, 2, 50.0)
    assert (row.p50_ms, row.p99_ms) == (51.0, 100.0)
    assert row.path == "/generate?count=16"
    assert row.first_error == "503 draining"


def test_a_route_that_never_answered_has_no_percentiles() -> None:
    target = service_run.targets(synthetic_inputs())["digit"]
    row = service_run.bench_row("cpu", "digit", target, LOAD, Tally(errors=3))
    assert (row.requests, row.p50_ms, row.p99_ms) == (0, None, None)


def test_tallies_from_client_processes_add_up() -> None:
    total = Tally([1.0], errors=0)
    total.add(Tally([2.0, 3.0], errors=1, first_error="timeout"))
    assert (total.latencies_ms, total.errors, total.first_error) == ([1.0, 2.0, 3.0], 1, "timeout")


def test_every_route_gets_distinct_real_bodies() -> None:
    routes = service_run.targets(synthetic_inputs())
    assert set(routes) == {"digit", "sentiment", "generate"}
    assert len(set(routes["digit"].bodies)) == 64
    assert len(set(routes["generate"].paths)) == 64
