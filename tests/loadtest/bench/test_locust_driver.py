"""The locust fallback driver reads locust's CSVs into the same Measurement wrk gives."""

from __future__ import annotations

from pathlib import Path

from loadtest.bench.locust_driver import parse_csv

STATS = """Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,\
90%,95%,98%,99%,99.9%,99.99%,100%
POST,bench,1803,78,4,4.5,0.9,40.1,200.0,900.1,39.0,4,5,5,6,7,8,9,10,20,40,40
,Aggregated,1803,78,4,4.5,0.9,40.1,200.0,900.1,39.0,4,5,5,6,7,8,9,10,20,40,40
"""
FAILURES = """Method,Name,Error,Occurrences,First Seen,Last Seen
POST,bench,CatchResponseError('429'),70,2026-11-23T11:41:52Z,2026-11-23T11:41:53Z
POST,bench,CatchResponseError('429 no Retry-After'),3,2026-11-23T11:41:52Z,2026-11-23T11:41:53Z
POST,bench,CatchResponseError('HTTP 503'),4,2026-11-23T11:41:52Z,2026-11-23T11:41:53Z
POST,bench,ConnectionRefusedError(111),1,2026-11-23T11:41:52Z,2026-11-23T11:41:53Z
"""


def test_failures_are_sorted_into_429s_5xx_and_the_rest(tmp_path: Path) -> None:
    prefix = tmp_path / "run"
    Path(f"{prefix}_stats.csv").write_text(STATS)
    Path(f"{prefix}_failures.csv").write_text(FAILURES)
    measured = parse_csv(prefix, "service", "digit-pixels", 8, 2.0)
    assert measured.ok == 1803 - 78
    assert (measured.rejected, measured.missing_retry_after) == (73, 3)
    assert (measured.server_errors, measured.other_errors) == (4, 1)
    assert (measured.p50_ms, measured.p99_ms) == (4.0, 10.0)
    assert measured.throughput == (1803 - 78) / 2.0
