"""Fixtures for the load-test tooling: a model repository to serve and a live service on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.repository import model_names
from loadtest import server

SHIPPED_MODELS = server.ROOT / "models"
SMOKE_MODELS = Path("/tmp/smoke-models")


@pytest.fixture(scope="session")
def repository() -> Path:
    """The shipped models when present, else the smoke-profile repository; skip without either."""
    for root in (SHIPPED_MODELS, SMOKE_MODELS):
        if model_names(root):
            return root
    pytest.skip(f"no model repository at {SHIPPED_MODELS} or {SMOKE_MODELS}; run `make models`")


@pytest.fixture(scope="module")
def live_service(repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m service` on a free loopback port (CPU, one worker); yields its base URL."""
    port = server.free_port()
    env = server.service_env(repository, port, providers="cpu", intra_op_threads=1)
    log = tmp_path_factory.mktemp("service") / "server.log"
    with server.running(server.SERVICE_COMMAND, port, log, env) as url:
        yield url
