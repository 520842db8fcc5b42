"""Bodies that stall, overflow or vanish, sent over raw sockets to a real `python -m service`.

What uvicorn then does with the connection (reads on, closes it, answers on it) only shows on a
real server; the middleware's own cases are in test_middleware.py. Run with `-s` for the figures.
"""

from __future__ import annotations

import json
import re
import select
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.helpers.apps import server_process
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.e2e

BODY_TIMEOUT_S = 1.0
# The server's own pace on a busy 2-core machine: building the answer, ticks of the drain, exit.
SLACK_S = 3.0
SENTIMENT_CAP = 1_048_576  # SERVING_MAX_SENTIMENT_BODY_BYTES' default, kept by these servers
CHUNK = 65_536
MiB = 1_048_576


@dataclass(frozen=True)
class Server:
    """A running `python -m service`: its process, address and JSON log."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def connect(self) -> socket.socket:
        url = urlsplit(self.base_url)
        assert url.hostname is not None
        assert url.port is not None
        return socket.create_connection((url.hostname, url.port), timeout=5)

    def scrape(self) -> str:
        return httpx.get(f"{self.base_url}/metrics", trust_env=False, timeout=5).text

    def log_lines(self) -> list[dict[str, object]]:
        """The JSON lines of the log (onnxruntime writes plain lines of its own to stderr)."""
        lines = self.log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


@dataclass(frozen=True)
class Answer:
    """What the server sent on a raw connection, and whether it then closed the connection."""

    status: int | None  # None: no answer at all
    headers: dict[str, str]
    body: bytes
    closed: bool

    def error_code(self) -> str:
        return str(json.loads(self.body)["error"]["code"])


@dataclass(frozen=True)
class Pour:
    """An endless chunked body poured at the server: what came back, and how it ended."""

    received: bytes
    sent_before_answer: int | None
    sent: int
    ended: str  # "closed" (the server's FIN), "reset" (its RST) or "time limit"


@pytest.fixture(scope="module")
def server(tiny_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with a 1 s body deadline, for the tests that leave it running."""
    log = tmp_path_factory.mktemp("slow-clients") / "server.log"
    env = {"SERVING_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S)}
    with server_process(tiny_repository, log, **env) as (process, base_url):
        yield Server(process, base_url, log)


def test_a_stalled_body_gets_408_and_a_closed_connection(server: Server) -> None:
    with stalled_body(server, "stall-1") as sock:
        started = time.monotonic()
        answer = read_answer(sock, BODY_TIMEOUT_S + SLACK_S)
        waited = time.monotonic() - started
    print(f"stalled body: 408 after {waited:.2f} s (SERVING_BODY_TIMEOUT_S={BODY_TIMEOUT_S:g})")
    assert answer.status == 408, answer
    assert answer.error_code() == "request_timeout"
    assert answer.headers["connection"] == "close"
    assert answer.closed, "the server closes the connection after the 408"
    assert BODY_TIMEOUT_S * 0.9 <= waited < BODY_TIMEOUT_S + SLACK_S
    eventually(lambda: others_in_flight(server.scrape()) == 0, 5, what="nothing in flight")
    assert server_errors(server.scrape()) == []


def test_a_client_that_hangs_up_mid_body_is_logged_as_client_closed(server: Server) -> None:
    with stalled_body(server, "hang-up-1"):
        eventually(lambda: others_in_flight(server.scrape()) == 1, 5, what="the request in flight")
    line = eventually(lambda: access_line(server, "hang-up-1"), 5, what="its access line")
    assert (line["level"], line["status"]) == ("info", 499), line
    assert str(line["message"]).endswith("client_closed"), line
    loud = [
        e for e in server.log_lines() if e["level"] in ("error", "critical") or "exception" in e
    ]
    assert loud == [], "a hang-up is no error"
    assert "Traceback" not in server.log.read_text()
    metrics = server.scrape()
    hang_ups = r'^serving_requests_total\{endpoint="/sentiment",.*status="499"\} 1\.0$'
    assert re.search(hang_ups, metrics, re.M), metrics
    assert server_errors(metrics) == []
    assert others_in_flight(metrics) == 0


def test_an_endless_chunked_body_is_not_read_on_after_its_413(server: Server) -> None:
    read_before = bytes_read(server.process.pid)
    with server.connect() as sock:
        sock.sendall(post_head("endless-1", framing="Transfer-Encoding: chunked"))
        pour = pour_chunks(sock, limit_s=10)
    read = bytes_read(server.process.pid) - read_before
    print(
        f"endless chunked body: 413 after {pour.sent_before_answer} bytes sent; {pour.sent} sent "
        f"in all before the {pour.ended}; the server read {read} bytes"
    )
    answer = parse_answer(pour.received, closed=pour.ended != "time limit")
    assert answer.status == 413, answer
    assert answer.error_code() == "payload_too_large"
    assert answer.headers["connection"] == "close"
    assert answer.closed, f"the server went on taking the body: {pour}"
    # Beyond the cap: the event loop's read under way when the 413 is raised (~250 kB at most).
    assert read < SENTIMENT_CAP + MiB, f"the server read {read} bytes after a {SENTIMENT_CAP} cap"


def test_sigterm_during_a_stalled_body_exits_0_within_the_body_timeout(
    tiny_repository: Path, tmp_path: Path
) -> None:
    # Drain timeout at its 30 s default: only the body deadline can free the drain this soon.
    env = {"SERVING_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S), "SERVING_DRAIN_TIMEOUT_S": "30"}
    with server_process(tiny_repository, tmp_path / "server.log", **env) as (process, url):
        server = Server(process, url, tmp_path / "server.log")
        with stalled_body(server, "stall-at-sigterm") as sock:
            eventually(
                lambda: others_in_flight(server.scrape()) == 1, 5, what="the stalled request"
            )
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            answer = read_answer(sock, BODY_TIMEOUT_S + SLACK_S)
        exit_code = wait_for_exit(server, BODY_TIMEOUT_S + SLACK_S)
        stopped = time.monotonic() - signalled
    print(f"SIGTERM with a stalled body: exit {exit_code} after {stopped:.2f} s; {answer.status}")
    assert exit_code == 0
    assert answer.status in (408, None), f"never uvicorn's plain-text 500: {answer}"
    assert answer.status is None or answer.error_code() == "request_timeout"
    assert answer.closed


# --- raw HTTP/1.1 on a socket ---------------------------------------------------------------


def post_head(request_id: str, framing: str) -> bytes:
    """The head of a POST /sentiment: JSON, tagged with `request_id`, framed by `framing`."""
    return (
        "POST /sentiment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-Request-ID: {request_id}\r\n{framing}\r\n\r\n"
    ).encode()


def stalled_body(server: Server, request_id: str) -> socket.socket:
    """A connection whose POST announces 1000 bytes of body and sends only the first 10."""
    sock = server.connect()
    sock.sendall(post_head(request_id, framing="Content-Length: 1000") + b'{"text": "')
    return sock


def read_answer(sock: socket.socket, timeout_s: float) -> Answer:
    """All the server sends until it closes the connection, or what came within `timeout_s`."""
    sock.settimeout(timeout_s)
    received = b""
    try:
        while chunk := sock.recv(CHUNK):
            received += chunk
    except TimeoutError:
        return parse_answer(received, closed=False)
    except ConnectionResetError:
        pass
    return parse_answer(received, closed=True)


def parse_answer(raw: bytes, *, closed: bool) -> Answer:
    """One HTTP/1.1 response with a Content-Length body (every answer of the service's own)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    if not head:
        return Answer(None, {}, b"", closed)
    status_line, *fields = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, _, value in (f.partition(": ") for f in fields)}
    return Answer(int(status_line.split()[1]), headers, body, closed)


def pour_chunks(sock: socket.socket, limit_s: float) -> Pour:
    """Send chunks as fast as the server takes them, reading its answer, until it hangs up."""
    chunk = b"%x\r\n%s\r\n" % (CHUNK, b"x" * CHUNK)
    pending, received, sent, before = chunk, b"", 0, None
    sock.setblocking(False)
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        readable, writable, _ = select.select([sock], [sock], [], 0.1)
        try:
            if readable:
                data = sock.recv(CHUNK)
                if not data:
                    return Pour(received, before, sent, "closed")
                before = sent if before is None else before
                received += data
            if writable:
                count = sock.send(pending)
                sent, pending = sent + count, pending[count:] or chunk  # whole chunks, in order
        except (ConnectionResetError, BrokenPipeError):
            return Pour(received, before, sent, "reset")
    return Pour(received, before, sent, "time limit")


# --- what the server says about itself ------------------------------------------------------


def others_in_flight(metrics: str) -> float:
    """Requests in flight, not counting the scrape that reads the gauge."""
    found = re.search(r"^serving_requests_in_flight (\S+)$", metrics, re.M)
    assert found, metrics
    return float(found.group(1)) - 1


def server_errors(metrics: str) -> list[str]:
    """Counters of 5xx answers to /sentiment (/readyz is 503 until the models load, rightly)."""
    counters = r'^serving_requests_total\{endpoint="/sentiment",[^}]*status="5\d\d"\}.*$'
    return re.findall(counters, metrics, re.M)


def access_line(server: Server, request_id: str) -> dict[str, object]:
    """The access-log line of one request (AssertionError until it is written)."""
    lines = [
        entry
        for entry in server.log_lines()
        if entry.get("request_id") == request_id and entry["logger"] == "service.access"
    ]
    assert lines, f"no access line for {request_id} yet"
    return lines[0]


def bytes_read(pid: int) -> int:
    """Bytes the process has read through read(2)/recv(2) so far (Linux: /proc/PID/io rchar)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError(f"/proc/{pid}/io has no rchar")


def wait_for_exit(server: Server, timeout_s: float) -> int:
    try:
        return server.process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {timeout_s} s after SIGTERM:\n{server.log.read_text()[-3000:]}")
