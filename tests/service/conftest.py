"""Fixtures: a tiny in-process model repository and app, and a real uvicorn server for e2e tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from export.repository import model_names
from service.app import create_app
from service.settings import Settings
from tests.service.tiny_models import build_repository

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_MODELS = ROOT / "models"
SMOKE_MODELS = Path("/tmp/smoke-models")
STARTUP_TIMEOUT_S = 240.0


@pytest.fixture(scope="session")
def tiny_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with all eight model names as tiny ONNX graphs."""
    return build_repository(tmp_path_factory.mktemp("tiny-models"))


def tiny_settings(repository: Path, **overrides: object) -> Settings:
    """Settings for in-process tests: CPU, one thread per session, no drain wait."""
    values: dict[str, object] = {
        "model_repository": repository,
        "providers": ["cpu"],
        "intra_op_threads": 1,
        "drain_grace_s": 0,
        "drain_timeout_s": 2,
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


@contextmanager
def running_app(settings: Settings, *, wait_ready: bool = True) -> Iterator[TestClient]:
    """A TestClient with the lifespan running; by default waits until /readyz says 200."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        if wait_ready:
            wait_until_ready(client)
        yield client


def wait_until_ready(client: TestClient | httpx.Client, timeout_s: float = 60.0) -> None:
    """Poll /readyz until 200, failing with its last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        response = client.get("/readyz")
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def client(tiny_repository: Path) -> Iterator[TestClient]:
    """The app on the tiny repository, ready, shared by a test module."""
    with running_app(tiny_settings(tiny_repository)) as test_client:
        yield test_client


# --- the real server --------------------------------------------------------------------------


def serving_repository() -> Path | None:
    """$TEST_MODEL_REPOSITORY, else the shipped models, else the smoke-profile ones, else None."""
    override = os.environ.get("TEST_MODEL_REPOSITORY")
    candidates = [Path(override)] if override else [SHIPPED_MODELS, SMOKE_MODELS]
    return next((root for root in candidates if model_names(root)), None)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_process(
    repository: Path, log_path: Path, **env: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`python -m service` on a free loopback port, ready; yields the process and its base URL."""
    port = free_port()
    environment = os.environ | {
        "SERVING_MODEL_REPOSITORY": str(repository),
        "SERVING_HOST": "127.0.0.1",
        "SERVING_PORT": str(port),
        "SERVING_DRAIN_GRACE_S": "0",
        "SERVING_INTRA_OP_THREADS": "1",
        "SERVING_LOG_FORMAT": "json",
        **env,
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service"], cwd=ROOT, env=environment, stdout=log, stderr=log
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(process, base_url, log_path)
        yield process, base_url
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server on the real models (see serving_repository); yields the base URL."""
    repository = serving_repository()
    if repository is None:
        pytest.skip(f"no model repository at {SHIPPED_MODELS} or {SMOKE_MODELS}; run `make models`")
    log_path = tmp_path_factory.mktemp("live-server") / "server.log"
    with server_process(repository, log_path) as (_, base_url):
        yield base_url


def _wait_for_server(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last = "no answer"
    with httpx.Client(base_url=base_url, timeout=5.0, trust_env=False) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(
                    f"server exited with {process.returncode}:\n{log_path.read_text()[-4000:]}"
                )
            try:
                response = http.get("/readyz")
            except httpx.TransportError as exc:
                last = repr(exc)
            else:
                if response.status_code == 200:
                    return
                last = response.text
                models = response.json().get("models", {})
                if any(state["status"] == "failed" for state in models.values()):
                    pytest.fail(f"a model failed to load: {last}")
            time.sleep(0.25)
    pytest.fail(
        f"server not ready after {STARTUP_TIMEOUT_S} s: {last}\n{log_path.read_text()[-4000:]}"
    )
