"""Hot reload: a new version is swapped in without failing or holding up requests in flight.

Triggered by `POST /admin/reload` or by the poller, which nothing on disk may stop.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from service import registry
from service.loading import LoadedModel
from service.settings import Settings
from tests.helpers.apps import running_app, tiny_settings
from tests.helpers.files import append_bytes, unreadable
from tests.helpers.tiny_models import build_repository
from tests.helpers.waiting import eventually

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
    # Every batch in the inference thread: the gate blocks whoever runs it.
    settings = tiny_settings(
        repository, models=["sentiment-lstm"], admin_token=TOKEN, inline_inference_ms=0
    )
    with running_app(settings) as client, ThreadPoolExecutor(2) as pool:
        build_repository(repository, ("sentiment-lstm",), version=2)
        running = pool.submit(score, client)
        assert gate.entered.wait(10), "version 1 never got the first request"
        queued = pool.submit(score, client)
        eventually(lambda: queue_depth(client) == 1, what="the second request queued behind")
        started = time.monotonic()
        reloaded = client.post("/admin/reload?model=lstm", headers=ADMIN)
        newer = score(client)
        waited = time.monotonic() - started
        assert not running.done(), "version 1 is still held"
        assert not queued.done(), "version 1 is still held"
        assert not retired(caplog), "version 1 retires only once its requests are done"
        gate.open.set()
        held = [running.result(), queued.result()]
        eventually(lambda: retired(caplog), 5, what="version 1 retired")
    assert reloaded.status_code == 200, reloaded.text
    assert newer[0] == "2"
    assert waited < 5, "the swap and the next request did not wait for the held batch"
    for version, p_positive in [*held, newer]:
        assert_consistent(version, p_positive)
    assert [version for version, _ in held] == ["1", "1"], "in-flight requests kept version 1"


def retired(caplog: pytest.LogCaptureFixture) -> bool:
    return any(r.getMessage() == "sentiment-lstm version 1 retired" for r in caplog.records)


def queue_depth(client: TestClient) -> float:
    """Requests waiting for a sentiment-lstm batch, as /metrics shows it."""
    prefix = 'serving_batch_queue_depth{model="sentiment-lstm"} '
    lines = client.get("/metrics").text.splitlines()
    return next((float(line.removeprefix(prefix)) for line in lines if line.startswith(prefix)), 0)


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
        eventually(lambda: len(answers) >= 20, what="20 answers before the swap")
        reloaded = client.post("/admin/reload", headers=ADMIN)
        swapped = len(answers)
        eventually(lambda: len(answers) >= swapped + 20, what="20 answers after the swap")
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
    repository: Path, tmp_path_factory: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR), running_app(polling(repository)) as client:
        serve_new_version(client, repository, "sentiment-lstm", 2)
        staging = build_repository(
            tmp_path_factory.mktemp("staging"), ("sentiment-lstm",), version=3
        )
        append_bytes(staging / "sentiment-lstm" / "3")
        # Moved in whole: a poll between writing and damaging it would load a sound version 3.
        (staging / "sentiment-lstm" / "3").rename(repository / "sentiment-lstm" / "3")
        eventually(lambda: "version 3" in str(listed(client)["error"]), what="version 3 tried")
        for version in (2, 3):  # the second one is served a whole poll after version 3 failed
            serve_new_version(client, repository, "digits-cnn", version)
        now = listed(client)
    assert (now["status"], now["version"]) == ("ready", "2")
    failures = [r for r in caplog.records if "version 3 cannot be served" in r.getMessage()]
    assert len(failures) == 1, "a broken version is logged once, not at every poll"


def test_a_folder_named_with_a_non_ascii_digit_never_stops_the_poller(
    repository: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # "²".isdigit() is True but int("²") raises: a listing that trusts isdigit() fails on it.
    with caplog.at_level(logging.ERROR), running_app(polling(repository)) as client:
        shutil.copytree(repository / "digits-cnn" / "1", repository / "digits-cnn" / "²")
        for version in (2, 3):  # the second one is served a whole poll after "²" appeared
            serve_new_version(client, repository, "sentiment-lstm", version)
        shutil.rmtree(repository / "digits-cnn" / "²")
        serve_new_version(client, repository, "digits-cnn", 2)
    surprises = [r for r in caplog.records if r.name == "service.reloading"]
    assert all(r.exc_info and "digits-cnn" in r.getMessage() for r in surprises), surprises


def test_an_unexpected_error_while_polling_is_logged_and_polling_goes_on(
    repository: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    listing = registry.versions
    surprises = [RuntimeError("listing broke")]

    def versions(root: Path, name: str) -> list[str]:
        if surprises:
            raise surprises.pop()
        return listing(root, name)

    with caplog.at_level(logging.ERROR), running_app(polling(repository)) as client:
        monkeypatch.setattr(registry, "versions", versions)  # started: the next poll meets it
        serve_new_version(client, repository, "sentiment-lstm", 2)
    logged = [r for r in caplog.records if r.name == "service.reloading"]
    assert len(logged) == 1, logged
    folder = repository / "digits-cnn"  # polled first: the one that met the surprise
    expected = f"polling digits-cnn in {folder} for a new version failed"
    assert logged[0].getMessage() == expected, "the line names the model and its folder"
    assert logged[0].exc_info is not None, "logged with its traceback"


def test_a_folder_that_cannot_be_listed_is_logged_once_and_polling_goes_on(
    repository: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR), running_app(polling(repository)) as client:
        unreadable(repository, monkeypatch)
        for version in (2, 3):  # the second one is served a whole poll after the first failure
            serve_new_version(client, repository, "digits-cnn", version)
        ready = client.get("/readyz")
        still = listed(client)
    failures = [r.getMessage() for r in caplog.records if "cannot be listed" in r.getMessage()]
    assert len(failures) == 1, "logged once, not at every poll"
    assert failures[0].startswith("model sentiment-lstm cannot be served"), failures
    assert str(repository / "sentiment-lstm" / "2") in failures[0], "the log has the full path"
    assert ready.status_code == 200, "version 1 still serves"
    assert (still["status"], still["version"]) == ("ready", "1")
    assert "'sentiment-lstm/2'" in still["error"]


def polling(repository: Path) -> Settings:
    """Both models, polled every 20 ms; digits-cnn first."""
    return tiny_settings(repository, models=list(MODELS), reload_interval_s=0.02)


def serve_new_version(client: TestClient, repository: Path, model: str, version: int) -> None:
    """Drop a sound new version into the repository and wait until the poller serves it."""
    build_repository(repository, (model,), version=version)

    def serving() -> bool:
        return listed(client, model)["version"] == str(version)

    eventually(serving, what=f"{model} version {version} served")


def listed(client: TestClient, model: str = "sentiment-lstm") -> dict[str, Any]:
    """The model's entry in /v1/models."""
    response = client.get(f"/v1/models/{model}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]
