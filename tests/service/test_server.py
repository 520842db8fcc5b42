"""Running under uvicorn: the phases of a graceful stop, and a real SIGTERM under load."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI

from service.draining import DrainGate
from service.server import DrainingServer
from tests.helpers.apps import server_process
from tests.helpers.tiny_models import build_repository
from tests.helpers.waiting import eventually


def draining_server(
    grace_s: float, timeout_s: float = 30.0
) -> tuple[DrainingServer, DrainGate, list[str]]:
    calls: list[str] = []
    config = uvicorn.Config(FastAPI(), log_config=None, timeout_graceful_shutdown=30)
    config.load()
    gate = DrainGate()
    server = DrainingServer(
        config,
        gate=gate,
        on_drain=lambda: calls.append("drain"),
        grace_s=grace_s,
        timeout_s=timeout_s,
    )
    return server, gate, calls


def tick(server: DrainingServer) -> bool:
    return asyncio.run(server.on_tick(1))


def test_during_the_grace_everything_is_served_and_then_new_requests_are_refused() -> None:
    server, gate, calls = draining_server(grace_s=0.05)
    server.handle_exit(signal.SIGTERM, None)
    assert calls == ["drain"], "/readyz turns 503 at once"
    assert not tick(server), "still serving during the grace period"
    assert not gate.refusing
    eventually(lambda: tick(server), 2, what="the server stopping once the 0.05 s grace is over")
    assert gate.refusing


def test_the_server_waits_for_requests_in_flight() -> None:
    server, gate, _ = draining_server(grace_s=0)
    gate.in_flight = 2
    server.handle_exit(signal.SIGTERM, None)
    assert not tick(server), "two requests still in flight"
    assert gate.refusing
    gate.in_flight = 0
    assert tick(server)
    assert server.config.timeout_graceful_shutdown == 30


def test_the_drain_timeout_stops_the_server_with_requests_in_flight() -> None:
    server, gate, _ = draining_server(grace_s=0, timeout_s=0.05)
    gate.in_flight = 1
    server.handle_exit(signal.SIGTERM, None)
    assert not tick(server)
    eventually(lambda: tick(server), 2, what="the server stopping after the 0.05 s drain timeout")
    assert server.config.timeout_graceful_shutdown == 0, "uvicorn must not wait a second time"


def test_sigint_skips_the_grace() -> None:
    server, gate, calls = draining_server(grace_s=60)
    server.handle_exit(signal.SIGINT, None)
    assert calls == ["drain"]
    assert tick(server)
    assert gate.refusing


def test_a_second_signal_stops_at_once() -> None:
    server, _, calls = draining_server(grace_s=60)
    server.handle_exit(signal.SIGTERM, None)
    server.handle_exit(signal.SIGTERM, None)
    assert server.should_exit
    assert calls == ["drain"]


def test_the_first_signal_is_not_re_raised_at_exit() -> None:
    # uvicorn re-raises the signals it captured once it has stopped, which would make a drained
    # server die of SIGTERM (exit code -15) instead of exiting 0.
    server, _, _ = draining_server(grace_s=0)
    server.handle_exit(signal.SIGTERM, None)
    assert server._captured_signals == []


# --- a real SIGTERM under load --------------------------------------------------------------

CLIENTS = 16
GRACE_S = 1.5
TIMEOUT_S = 20.0
# Requests sent this close to the end of the grace may reach the server after it: either answer
# is right for them.
MARGIN_S = 0.3
PIXELS = np.random.default_rng(0).integers(0, 256, (28, 28)).tolist()


@dataclass(frozen=True)
class Attempt:
    """One request of the load: when it was sent, and what came back."""

    sent: float
    status: int | None  # None: no HTTP answer (connection refused or closed)
    code: str | None
    retry_after: str | None


@dataclass(frozen=True)
class Drain:
    """A SIGTERM under load, seen from outside: every request, the probes, and the exit."""

    attempts: list[Attempt]
    signalled: float
    exited: float
    exit_code: int
    readiness: httpx.Response
    liveness: httpx.Response

    @property
    def before(self) -> list[Attempt]:
        return [a for a in self.attempts if a.sent < self.signalled]

    @property
    def grace(self) -> list[Attempt]:
        end = self.signalled + GRACE_S - MARGIN_S
        return [a for a in self.attempts if self.signalled <= a.sent < end]

    @property
    def after(self) -> list[Attempt]:
        return [a for a in self.attempts if a.sent >= self.signalled + GRACE_S + MARGIN_S]

    def report(self) -> str:
        """One line on the load and the drain, for every failure message."""
        refused = [a for a in self.attempts if a.status == 503]
        unanswered = [a for a in self.attempts if a.status is None]
        dropped = [a for a in self.before + self.grace if a.status != 200]
        return (
            f"{len(self.attempts)} requests from {CLIENTS} clients: {len(self.before)} sent "
            f"before SIGTERM, {len(self.grace)} during the grace; {len(refused)} answered 503 and "
            f"{len(unanswered)} refused a connection after the grace; dropped: {len(dropped)}; "
            f"exit {self.exit_code} {self.exited - self.signalled:.2f} s after SIGTERM"
        )


def keep_posting(base_url: str, stop: threading.Event, attempts: list[Attempt]) -> None:
    """One client: post a digit, wait for the answer, again, until `stop`."""
    with httpx.Client(base_url=base_url, timeout=30, trust_env=False) as http:
        while not stop.is_set():
            sent = time.monotonic()
            try:
                response = http.post("/predict/digit", json={"pixels": PIXELS})
            except httpx.TransportError:
                attempts.append(Attempt(sent, None, None, None))
                time.sleep(0.05)  # the client's back-off before retrying: load shape, not a wait
                continue
            if response.status_code == 200:
                attempts.append(Attempt(sent, 200, None, None))
                continue
            code = response.json()["error"]["code"]
            attempts.append(
                Attempt(sent, response.status_code, code, response.headers.get("retry-after"))
            )
            time.sleep(0.05)  # as above: a refused client backs off


@contextmanager
def load(base_url: str) -> Iterator[list[Attempt]]:
    """CLIENTS threads posting back to back; yields their attempts, stops and joins them after."""
    stop = threading.Event()
    attempts: list[Attempt] = []
    clients = [
        threading.Thread(target=keep_posting, args=(base_url, stop, attempts))
        for _ in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    try:
        yield attempts
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=30)


def sigterm_under_load(repository: Path, log: Path, workers: int) -> Drain:
    """Serve, load the server, SIGTERM it once answers flow, and wait for it to exit."""
    env = {
        "SERVING_DRAIN_GRACE_S": str(GRACE_S),
        "SERVING_DRAIN_TIMEOUT_S": str(TIMEOUT_S),
        "SERVING_WORKERS": str(workers),
    }
    with server_process(repository, log, **env) as (process, base_url), load(base_url) as sent:
        served = lambda: sum(a.status == 200 for a in sent) >= CLIENTS  # noqa: E731
        eventually(served, 30, interval_s=0.05, what=f"{CLIENTS} requests answered 200")
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        readiness, liveness = probes_while_draining(base_url)
        exit_code = process.wait(timeout=GRACE_S + TIMEOUT_S + 5)
        exited = time.monotonic()
    return Drain(sent, signalled, exited, exit_code, readiness, liveness)


def probes_while_draining(base_url: str) -> tuple[httpx.Response, httpx.Response]:
    """/readyz once it has turned 503 (within the grace, else fail), then /healthz."""
    with httpx.Client(base_url=base_url, trust_env=False, timeout=5) as probe:

        def not_ready() -> httpx.Response:
            response = probe.get("/readyz")
            assert response.status_code == 503, response.text
            return response

        readiness = eventually(not_ready, GRACE_S, what="/readyz turning 503 during the grace")
        return readiness, probe.get("/healthz")


@pytest.mark.e2e
@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_under_load_drops_no_admitted_request(tmp_path: Path, workers: int) -> None:
    """With several workers the supervisor gets the SIGTERM and every worker drains the same way."""
    repository = build_repository(tmp_path / "models", ("digits-cnn",), slow=True)
    drain = sigterm_under_load(repository, tmp_path / "server.log", workers)
    log = (tmp_path / "server.log").read_text()
    report = drain.report()
    print(report)
    assert drain.exit_code == 0, f"{report}\n{log[-3000:]}"
    assert drain.readiness.json()["draining"] is True
    assert drain.liveness.status_code == 200, "liveness holds until the process exits"
    assert drain.before, "the load never got going"
    dropped = [a for a in drain.before + drain.grace if a.status != 200]
    assert not dropped, f"admitted requests were not answered 200: {dropped[:5]}; {report}"
    assert all(a.status != 200 for a in drain.after), f"served after the grace: {report}"
    for attempt in drain.attempts:
        assert attempt.status in (200, 503, None), f"{attempt}; {report}"
        if attempt.status == 503:
            assert attempt.code == "shutting_down", f"{attempt}; {report}"
            assert attempt.retry_after is not None, report
            assert int(attempt.retry_after) >= 1, report
    assert drain.exited - drain.signalled < GRACE_S + TIMEOUT_S, report
    assert log.count("drained: no request in flight") == workers
