"""The soak's recorder: each request lands in the window of its time, and windows sum it up."""

from __future__ import annotations

import time

import pytest

from loadtest.soak.recorder import MB, Recorder


def test_a_request_is_counted_in_the_window_it_finished_in() -> None:
    made = Recorder(started=time.monotonic() - 2.5, window_s=1.0, pid=None)
    made.on_request(response_time=7.0, exception=None)
    made.on_request(response_time=9.0, exception=ConnectionError("refused"))
    assert made.latencies == {2: [7.0, 9.0]}
    assert made.errors == {2: 1}
    assert made.error_kinds == {"refused": 1}


def test_windows_carry_their_percentiles_and_the_rss_at_their_end() -> None:
    made = Recorder(started=0.0, window_s=2.0, pid=None)
    made.latencies = {0: [float(ms) for ms in range(1, 101)]}
    made.rss = [(1.0, 50 * MB), (2.0, 60 * MB), (3.5, 70 * MB)]
    first, second = made.windows(2)
    assert (first.requests, first.rps, first.errors) == (100, 50.0, 0)
    assert first.p50_ms == pytest.approx(50.5)
    assert first.rss_mb == 60.0
    assert (second.requests, second.rss_mb) == (0, 70.0)
