"""Fixtures: a tiny in-process model repository and app, and a real uvicorn server for e2e tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.helpers.apps import (
    SHIPPED_MODELS,
    SMOKE_MODELS,
    running_app,
    server_process,
    serving_repository,
    tiny_settings,
)
from tests.helpers.tiny_models import build_repository


@pytest.fixture(scope="session")
def tiny_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with all eight model names as tiny ONNX graphs."""
    return build_repository(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="module")
def client(tiny_repository: Path) -> Iterator[TestClient]:
    """The app on the tiny repository, ready, shared by a test module."""
    with running_app(tiny_settings(tiny_repository)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server on the real models (see serving_repository); yields the base URL."""
    repository = serving_repository()
    if repository is None:
        pytest.skip(f"no model repository at {SHIPPED_MODELS} or {SMOKE_MODELS}; run `make models`")
    log_path = tmp_path_factory.mktemp("live-server") / "server.log"
    with server_process(repository, log_path) as (_, base_url):
        yield base_url
