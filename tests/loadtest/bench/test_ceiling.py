"""The compute ceiling: the best batch size is the one with the most samples per second."""

from __future__ import annotations

from loadtest.bench.ceiling import best
from tests.loadtest.bench.sample_results import CEILINGS


def test_best_batch_is_the_fastest_per_sample() -> None:
    top = best(CEILINGS, "gan-dcgan")
    assert top is not None
    assert top.batch_size == 32
    assert best(CEILINGS, "digits-cnn") is None
