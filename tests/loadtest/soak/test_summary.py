"""The soak's verdict on made-up figures: p99 drift, RSS growth and failed requests."""

from __future__ import annotations

import argparse

import pytest

from loadtest.soak.recorder import MB, Recorder
from loadtest.soak.summary import markdown, summarise


def recorder(rss_mb: tuple[float, float], errors: int = 0) -> Recorder:
    """Two 1-second windows of 100 requests each, and the RSS at their ends."""
    made = Recorder(started=0.0, window_s=1.0, pid=None)
    made.latencies = {0: [10.0] * 100, 1: [12.0] * 100}
    made.errors = {1: errors} if errors else {}
    made.rss = [(1.0, int(rss_mb[0] * MB)), (2.0, int(rss_mb[1] * MB))]
    return made


ARGS = argparse.Namespace(minutes=2 / 60, users=1, max_rss_growth=0.10)


@pytest.mark.parametrize(
    ("rss_mb", "errors", "failure"),
    [
        ((100.0, 105.0), 0, None),
        ((100.0, 112.0), 0, "RSS grew 12.0%"),
        ((100.0, 100.0), 3, "3 of 200 requests failed"),
    ],
)
def test_the_verdict(rss_mb: tuple[float, float], errors: int, failure: str | None) -> None:
    report = summarise(recorder(rss_mb, errors), ARGS, "http://127.0.0.1:1")
    assert report.p99_first_ms == 10.0
    assert report.p99_last_ms == 12.0
    assert report.p99_drift == pytest.approx(0.2)
    assert report.rss_growth == pytest.approx(rss_mb[1] / rss_mb[0] - 1)
    if failure is None:
        assert report.passed, report.failures
        assert "verdict: PASS" in markdown(report)
    else:
        assert not report.passed
        assert failure in " ".join(report.failures)
        assert "verdict: FAIL" in markdown(report)
