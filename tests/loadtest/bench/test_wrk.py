"""The wrk driver: its Lua script counts what a real wrk sees, and its result line parses."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from loadtest.bench import wrk
from loadtest.bench.drivers import Target

OUTPUT = """Running 1s test @ http://127.0.0.1:8000
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms    1.02ms  15.30ms   90.00%
  2000 requests in 1.00s, 400.00KB read
WRK_RESULT {"duration_us": 1000250, "requests": 2000, "ok": 1900, "rejected": 80, \
"server_errors": 5, "other_status": 10, "missing_retry_after": 2, "socket_errors": 5, \
"p50_us": 1950.0, "p99_us": 9875.5}
Requests/sec:   1999.50
"""
# What the fake server answers, in turn: (status, extra headers).
ANSWERS = [(200, {}), (200, {}), (429, {"Retry-After": "1"}), (429, {}), (503, {}), (404, {})]


def test_the_result_line_parses_into_a_measurement() -> None:
    measured = wrk.parse_result(OUTPUT, "service", "digit-pixels", 8)
    assert (measured.ok, measured.rejected, measured.server_errors) == (1900, 80, 5)
    assert measured.other_errors == 15  # other statuses and socket errors
    assert measured.missing_retry_after == 2
    assert measured.errors == 20
    assert (measured.p50_ms, measured.p99_ms) == (1.95, 9.8755)
    assert measured.throughput == pytest.approx(1900 / 1.00025)


def test_output_without_the_result_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="no WRK_RESULT line"):
        wrk.parse_result("unable to connect to 127.0.0.1:1 Connection refused", "s", "t", 1)


def test_the_script_spells_its_values_in_lua(tmp_path: Path) -> None:
    get = wrk.lua_script(Target("generate", "GET", "/generate?count=16", seed_param=True))
    assert "local body_files = {  }" in get
    assert (
        'local method, path, content_type, seed_param = "GET", "/generate?count=16", nil, true'
        in get
    )
    post = wrk.lua_script(
        Target("x", "POST", "/sentiment", "application/json", (tmp_path / "a b",))
    )
    assert f'local body_files = {{ "{tmp_path / "a b"}" }}' in post


def test_wrk_gets_no_more_threads_than_connections() -> None:
    args = wrk.command("http://h:1", Path("s.lua"), concurrency=1, duration_s=0.4, threads=4)
    assert args[1:4] == ["-t1", "-c1", "-d1s"]


class FakeServer(BaseHTTPRequestHandler):
    """Answers ANSWERS in turn and remembers every body it was sent."""

    protocol_version = "HTTP/1.1"  # keep-alive, as wrk expects
    disable_nagle_algorithm = True  # else delayed ACKs cap it at ~25 answers/s per connection
    answers = itertools.cycle(ANSWERS)
    bodies: ClassVar[Counter[bytes]] = Counter()
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.lock:
            status, headers = next(self.answers)
            self.bodies[body] += 1
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.e2e
@pytest.mark.skipif(not wrk.available(), reason="wrk is not installed (apt-get install wrk)")
def test_the_script_counts_statuses_and_missing_retry_after(
    fake_server: str, tmp_path: Path
) -> None:
    bodies = [tmp_path / "0.json", tmp_path / "1.json"]
    for i, path in enumerate(bodies):
        path.write_bytes(b'{"n": %d}' % i)
    target = Target("fake", "POST", "/predict/digit", "application/json", tuple(bodies))
    measured = wrk.measure(fake_server, target, 2, 1.0, script_dir=tmp_path, threads=1)
    total = measured.ok + measured.rejected + measured.server_errors + measured.other_errors
    assert total > 60, measured
    # The fake answers 2 × 200, 429 with and without Retry-After, 503, 404 in turn.
    assert measured.ok == pytest.approx(total / 3, abs=3), measured
    assert measured.rejected == pytest.approx(total / 3, abs=3), measured
    assert measured.missing_retry_after == pytest.approx(measured.rejected / 2, abs=3), measured
    assert measured.server_errors == pytest.approx(total / 6, abs=3), measured
    assert set(FakeServer.bodies) == {b'{"n": 0}', b'{"n": 1}'}
