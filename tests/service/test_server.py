"""Running under uvicorn: the drain period after SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from service.server import DrainingServer
from tests.service.conftest import server_process


def draining_server(grace_s: float) -> tuple[DrainingServer, list[str]]:
    calls: list[str] = []
    config = uvicorn.Config(FastAPI(), log_config=None)
    config.load()
    server = DrainingServer(config, on_drain=lambda: calls.append("drain"), grace_s=grace_s)
    return server, calls


def test_the_first_signal_starts_draining_and_the_server_stops_after_the_grace() -> None:
    server, calls = draining_server(grace_s=0.05)
    server.handle_exit(signal.SIGTERM, None)
    assert calls == ["drain"]
    assert not asyncio.run(server.on_tick(1)), "still serving during the grace period"
    time.sleep(0.06)
    assert asyncio.run(server.on_tick(2)), "stops once the grace period is over"


def test_a_second_signal_stops_at_once() -> None:
    server, calls = draining_server(grace_s=60)
    server.handle_exit(signal.SIGTERM, None)
    server.handle_exit(signal.SIGTERM, None)
    assert server.should_exit
    assert calls == ["drain"]


def test_without_a_grace_period_a_signal_stops_at_once() -> None:
    server, calls = draining_server(grace_s=0)
    server.handle_exit(signal.SIGTERM, None)
    assert server.should_exit
    assert calls == []


@pytest.mark.e2e
def test_sigterm_turns_readyz_503_then_exits_cleanly(tiny_repository: Path, tmp_path: Path) -> None:
    env = {"SERVING_DRAIN_GRACE_S": "1.5", "SERVING_MODELS": "digits-mlp"}
    with server_process(tiny_repository, tmp_path / "server.log", **env) as (process, base_url):
        with httpx.Client(base_url=base_url, trust_env=False, timeout=5) as http:
            assert http.get("/readyz").status_code == 200
            process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            draining = http.get("/readyz")
            still_serving = http.get("/healthz")
        assert process.wait(timeout=30) == 0
    assert draining.status_code == 503, draining.text
    assert draining.json()["draining"] is True
    assert still_serving.status_code == 200
