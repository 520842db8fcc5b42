"""The service under test: in-process apps on settings for tests, and real `python -m service`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from contract.repository import model_names
from loadtest.server import free_port
from service.app import create_app
from service.settings import Settings
from tests.helpers.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_MODELS = ROOT / "models"
SMOKE_MODELS = Path("/tmp/smoke-models")
STARTUP_TIMEOUT_S = 240.0


def tiny_settings(repository: Path, **overrides: object) -> Settings:
    """Settings for in-process tests: CPU, one thread per session, no drain wait."""
    values: dict[str, object] = {
        "model_repository": repository,
        "providers": ["cpu"],
        "intra_op_threads": 1,
        "drain_grace_s": 0,
        "drain_timeout_s": 2,
        "body_timeout_s": 2,
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

    def ready() -> bool:
        response = client.get("/readyz")
        assert response.status_code == 200, response.text
        return True

    eventually(ready, timeout_s, what="/readyz answering 200")


def serving_repository() -> Path | None:
    """$TEST_MODEL_REPOSITORY, else the shipped models, else the smoke-profile ones, else None."""
    override = os.environ.get("TEST_MODEL_REPOSITORY")
    candidates = [Path(override)] if override else [SHIPPED_MODELS, SMOKE_MODELS]
    return next((root for root in candidates if model_names(root)), None)


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


def _wait_for_server(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    """Wait for /readyz to answer 200; fail at once if the server exits or a model fails."""
    with httpx.Client(base_url=base_url, timeout=5.0, trust_env=False) as http:
        try:
            eventually(
                _readiness_probe(process, http, log_path),
                STARTUP_TIMEOUT_S,
                interval_s=0.25,
                what="the server's /readyz answering 200",
            )
        except AssertionError as exc:
            pytest.fail(f"{exc}\n{_tail(log_path)}")


def _readiness_probe(
    process: subprocess.Popen[bytes], http: httpx.Client, log_path: Path
) -> Callable[[], bool]:
    """True once /readyz says 200; AssertionError (not yet) while it cannot or will not."""

    def ready() -> bool:
        # pytest.fail is no AssertionError: `eventually` stops at once on these two.
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            response = http.get("/readyz")
        except httpx.TransportError as exc:
            raise AssertionError(f"no answer: {exc!r}") from exc
        if response.status_code == 200:
            return True
        models = response.json().get("models", {})
        if any(state["status"] == "failed" for state in models.values()):
            pytest.fail(f"a model failed to load: {response.text}")
        raise AssertionError(response.text)

    return ready


def _tail(log_path: Path) -> str:
    return log_path.read_text()[-4000:]
