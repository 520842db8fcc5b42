"""Each missed goal is put beside a floor measured in the same run."""

from __future__ import annotations

from loadtest.bench.ceiling import Ceiling
from loadtest.bench.limits import limits_text
from tests.loadtest.bench.sample_results import RESULTS


def test_each_goal_is_set_against_its_floor_from_the_same_run() -> None:
    text = limits_text(RESULTS)
    # 2 cores ÷ peak req/s: no-op 5,000, pixels 3,600, PNG 2,000 req/s.
    assert "**PNG upload**: 1,000 core-µs a request against 556 for pixel JSON and 400" in text
    assert "needs at most 1,053 core-µs" in text
    assert "from 0.33× to 0.56× of its req/s" in text
    assert "`make serve` vs the minimal server**: 1,333 against 1,000 core-µs" in text
    assert "Pixel JSON vs no-op" not in text, "no digits-cnn ceiling in the sample"


def test_the_model_compute_and_the_no_op_latency_are_named_when_measured() -> None:
    results = RESULTS | {"ceilings": [Ceiling("digits-cnn", 64, 20_000.0)]}
    text = limits_text(results)
    assert "it costs 556: the no-op's 400, the CNN's own 100 at its best batch" in text
    assert "18.0 ms, where the no-op's own p99 was 10.0 ms" in text
    # 32 connections at 3,600 req/s: 8.9 ms on average (Little's law), p99 2.0× that; 15 ms at
    # that spread needs 32 / (15 ms / 2.025) = 4,320 req/s.
    assert "wait 8.9 ms on average" in text
    assert "15 ms needs 4,320 req/s, 1.2× this run's" in text
