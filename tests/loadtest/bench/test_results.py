"""results.json: a run survives a round trip, and the peaks are read from it."""

from __future__ import annotations

from pathlib import Path

from loadtest.bench import results
from loadtest.bench.results import peak
from tests.loadtest.bench.sample_results import CEILINGS, MEASUREMENTS, RESULTS


def test_peak_picks_the_concurrency_with_the_most_successful_requests() -> None:
    top = peak(MEASUREMENTS, "service", "digit-pixels")
    assert top is not None
    assert top.concurrency == 32
    assert peak(MEASUREMENTS, "unbatched", "digit-pixels") is None


def test_results_survive_a_round_trip(tmp_path: Path) -> None:
    results.save(RESULTS, tmp_path / "results.json")
    loaded = results.load(tmp_path / "results.json")
    assert loaded["measurements"] == MEASUREMENTS
    assert loaded["ceilings"] == CEILINGS
