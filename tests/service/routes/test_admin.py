"""POST /admin/reload: new versions served on demand; a bad one or a bad repository answers 409."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.helpers.apps import running_app, tiny_settings
from tests.helpers.errors import assert_error
from tests.helpers.files import append_bytes, unreadable
from tests.helpers.tiny_models import build_repository

TOKEN = "reload-token"
ADMIN = {"X-Admin-Token": TOKEN}


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    return build_repository(tmp_path, ("digits-cnn", "sentiment-lstm"))


@pytest.fixture
def client(repository: Path) -> Iterator[TestClient]:
    with running_app(tiny_settings(repository, admin_token=TOKEN)) as test_client:
        yield test_client


def sentiment(client: TestClient) -> tuple[str, float]:
    """Version and P(positive) of "good good": version 1 finds it positive, version 2 negative."""
    response = client.post("/sentiment", json={"text": "good good"})
    assert response.status_code == 200, response.text
    return response.json()["model_version"], response.json()["score"]


def assert_error_with_report(response: object) -> str:
    """409 with the envelope, plus the per-model report beside it."""
    assert response.status_code == 409, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error", "models"}, body
    assert body["error"]["code"] == "reload_failed"
    return str(body["error"]["message"])


def test_a_new_version_is_served_after_a_reload(client: TestClient, repository: Path) -> None:
    assert sentiment(client)[0] == "1"
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
    version, p_positive = sentiment(client)
    assert (version, p_positive < 0.1) == ("2", True), "scored by version 2 alone"
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
    assert sentiment(client)[0] == "1"
    assert client.get("/readyz").status_code == 200, "the model still serves"


def test_unknown_models_and_unchanged_versions(client: TestClient) -> None:
    assert_error(client.post("/admin/reload?model=nope", headers=ADMIN), 404, "unknown_model")
    unchanged = client.post("/admin/reload?model=cnn", headers=ADMIN)
    assert unchanged.status_code == 200, unchanged.text
    assert unchanged.json()["models"][0]["outcome"] == "unchanged"


def a_file(repository: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file where the model's folder should be."""
    shutil.rmtree(repository / "sentiment-lstm")
    (repository / "sentiment-lstm").write_text("not a folder")


def no_repository(repository: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.rmtree(repository)


@pytest.mark.parametrize("damage", [unreadable, a_file, no_repository])
def test_a_repository_that_cannot_be_listed_answers_409_and_the_model_keeps_serving(
    client: TestClient, repository: Path, monkeypatch: pytest.MonkeyPatch, damage: object
) -> None:
    damage(repository, monkeypatch)  # type: ignore[operator]
    response = client.post("/admin/reload?model=lstm", headers=ADMIN)
    message = assert_error_with_report(response)
    assert message.startswith("sentiment-lstm: cannot be served: "), message
    assert "sentiment-lstm" in message.removeprefix("sentiment-lstm: "), "names the folder"
    assert message.endswith("; still serving version 1"), message
    assert str(repository) not in response.text, "callers see no server path"
    assert sentiment(client)[0] == "1"
