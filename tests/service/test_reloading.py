"""Hot reload: a new version is swapped in without failing or holding up requests in flight."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

from service.loading import LoadedModel
from tests.service.conftest import running_app, tiny_settings
from tests.service.test_errors import assert_error
from tests.service.test_registry import append_bytes
from tests.service.tiny_models import build_repository

TOKEN = "reload-token"
ADMIN = {"X-Admin-Token": TOKEN}
MODELS = ("digits-cnn", "sentiment-lstm")
# Version 1 calls "good" positive; version 2 lists its words in reverse and calls it negative. A
# text tokenised by one version and scored by the other would get exactly 0.5.
REVIEW = {"text": "good good"}


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    return build_repository(tmp_path, MODELS)


@pytest.fixture
def client(repository: Path) -> Iterator[TestClient]:
    with running_app(tiny_settings(repository, admin_token=TOKEN)) as test_client:
        yield test_client


def score(client: TestClient) -> tuple[str, float]:
    response = client.post("/sentiment", json=REVIEW)
    assert response.status_code == 200, response.text
    return response.json()["model_version"], response.json()["score"]


def assert_consistent(version: str, p_positive: float) -> None:
    """The answer is the one its own version gives: never a mix of two versions."""
    assert (p_positive > 0.9) if version == "1" else (p_positive < 0.1), (version, p_positive)


def test_a_new_version_is_served_after_a_reload(client: TestClient, repository: Path) -> None:
    assert score(client)[0] == "1"
    build_repository(repository, ("sentiment-lstm",), version=2)
    response = client.post("/admin/reload?model=lstm", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["models"] == [
        {
            "model": "sentiment-lstm",
            "outcome": "reloaded",
            "version": "2",
            "previous_version": "1",
            "error": None,
        }
    ]
    listed = client.get("/v1/models/sentiment-lstm").json()
    assert (listed["status"], listed["version"], listed["versions"]) == ("ready", "2", ["1", "2"])
    version, p_positive = score(client)
    assert version == "2"
    assert_consistent(version, p_positive)
    assert client.get("/readyz").status_code == 200


def test_reloading_every_model_leaves_the_unchanged_ones_alone(
    client: TestClient, repository: Path
) -> None:
    build_repository(repository, ("digits-cnn",), version=2)
    response = client.post("/admin/reload", headers=ADMIN)
    assert response.status_code == 200, response.text
    outcomes = {m["model"]: (m["outcome"], m["version"]) for m in response.json()["models"]}
    assert outcomes == {"digits-cnn": ("reloaded", "2"), "sentiment-lstm": ("unchanged", "1")}


def test_a_version_that_fails_to_load_leaves_the_old_one_serving(
    client: TestClient, repository: Path, caplog: pytest.LogCaptureFixture
) -> None:
    build_repository(repository, ("sentiment-lstm",), version=2)
    append_bytes(repository / "sentiment-lstm" / "2")
    with caplog.at_level(logging.ERROR):
        response = client.post("/admin/reload?model=sentiment-lstm", headers=ADMIN)
    message = assert_error_with_report(response)
    assert "sha256" in message
    assert response.json()["models"][0]["outcome"] == "failed"
    assert response.json()["models"][0]["version"] == "1"
    assert any("still serving version 1" in r.getMessage() for r in caplog.records)
    listed = client.get("/v1/models/sentiment-lstm").json()
    assert (listed["status"], listed["version"]) == ("ready", "1")
    assert "version 2 cannot be served" in listed["error"]
    assert score(client)[0] == "1"
    assert client.get("/readyz").status_code == 200, "the model still serves"


def assert_error_with_report(response: object) -> str:
    """409 with the envelope, plus the per-model report beside it."""
    assert response.status_code == 409, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error", "models"}, body
    assert body["error"]["code"] == "reload_failed"
    return str(body["error"]["message"])


def test_unknown_models_and_unchanged_versions(client: TestClient) -> None:
    assert_error(client.post("/admin/reload?model=nope", headers=ADMIN), 404, "unknown_model")
    unchanged = client.post("/admin/reload?model=cnn", headers=ADMIN)
    assert unchanged.status_code == 200, unchanged.text
    assert unchanged.json()["models"][0]["outcome"] == "unchanged"


class VersionGate:
    """Holds every batch of version 1 until opened; other versions run freely."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.open = threading.Event()
        self.entered = threading.Event()
        original = LoadedModel.run

        def run(model: LoadedModel, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            if model.metadata.version == "1":
                self.entered.set()
                assert self.open.wait(20), "the test never opened the gate"
            return original(model, feeds)

        monkeypatch.setattr(LoadedModel, "run", run)


def test_requests_in_flight_during_a_swap_finish_on_their_version_without_delaying_others(
    repository: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.registry")
    gate = VersionGate(monkeypatch)  # before the app starts: batchers keep the run they are given
    settings = tiny_settings(repository, models=["sentiment-lstm"], admin_token=TOKEN)
    with running_app(settings) as client, ThreadPoolExecutor(2) as pool:
        build_repository(repository, ("sentiment-lstm",), version=2)
        running = pool.submit(score, client)
        assert gate.entered.wait(10), "version 1 never got the first request"
        queued = pool.submit(score, client)
        time.sleep(0.1)  # the second request is now queued behind the held batch
        started = time.monotonic()
        reloaded = client.post("/admin/reload?model=lstm", headers=ADMIN)
        newer = score(client)
        waited = time.monotonic() - started
        assert not running.done(), "version 1 is still held"
        assert not queued.done(), "version 1 is still held"
        assert not retired(caplog), "version 1 retires only once its requests are done"
        gate.open.set()
        held = [running.result(), queued.result()]
        deadline = time.monotonic() + 5
        while not retired(caplog):
            assert time.monotonic() < deadline, "version 1 was never retired"
            time.sleep(0.02)
    assert reloaded.status_code == 200, reloaded.text
    assert newer[0] == "2"
    assert waited < 5, "the swap and the next request did not wait for the held batch"
    for version, p_positive in [*held, newer]:
        assert_consistent(version, p_positive)
    assert [version for version, _ in held] == ["1", "1"], "in-flight requests kept version 1"


def retired(caplog: pytest.LogCaptureFixture) -> bool:
    return any(r.getMessage() == "sentiment-lstm version 1 retired" for r in caplog.records)


def test_a_swap_under_concurrent_load_fails_no_request(
    client: TestClient, repository: Path
) -> None:
    build_repository(repository, ("sentiment-lstm",), version=2)
    stop = threading.Event()
    answers: list[tuple[str, float]] = []

    def keep_scoring() -> None:
        while not stop.is_set():
            answers.append(score(client))

    with ThreadPoolExecutor(4) as pool:
        load = [pool.submit(keep_scoring) for _ in range(4)]
        time.sleep(0.2)
        reloaded = client.post("/admin/reload", headers=ADMIN)
        time.sleep(0.2)
        stop.set()
        for future in load:
            future.result()  # re-raises any failed request
    assert reloaded.status_code == 200, reloaded.text
    versions = [version for version, _ in answers]
    assert {"1", "2"} <= set(versions), "the load spanned the swap"
    assert versions.index("2") > 0
    for version, p_positive in answers:
        assert_consistent(version, p_positive)


def test_polling_serves_new_versions_and_tries_a_broken_one_once(
    repository: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = tiny_settings(repository, models=["sentiment-lstm"], reload_interval_s=0.05)
    with caplog.at_level(logging.ERROR), running_app(settings) as client:
        build_repository(repository, ("sentiment-lstm",), version=2)
        wait_for_version(client, "2")
        build_repository(repository, ("sentiment-lstm",), version=3)
        append_bytes(repository / "sentiment-lstm" / "3")
        deadline = time.monotonic() + 10
        while "version 3" not in str(client.get("/v1/models/lstm").json()["error"]):
            assert time.monotonic() < deadline, "the broken version was never tried"
            time.sleep(0.02)
        time.sleep(0.3)  # several more polls
        listed = client.get("/v1/models/lstm").json()
    assert (listed["status"], listed["version"]) == ("ready", "2")
    failures = [r for r in caplog.records if "version 3 cannot be served" in r.getMessage()]
    assert len(failures) == 1, "a broken version is logged once, not at every poll"


def wait_for_version(client: TestClient, version: str) -> None:
    deadline = time.monotonic() + 10
    while client.get("/v1/models/lstm").json()["version"] != version:
        assert time.monotonic() < deadline, f"version {version} never served"
        time.sleep(0.02)
