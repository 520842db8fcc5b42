"""Faulty models: each is refused with a clear log line and reported, while the others serve."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from contract.repository import sha256_file
from service import registry
from tests.helpers.apps import running_app, tiny_settings
from tests.helpers.errors import assert_error
from tests.helpers.files import append_bytes, unreadable
from tests.helpers.tiny_models import build_repository
from tests.helpers.waiting import eventually

Damage = Callable[[Path], None]


def truncate_onnx(folder: Path, *, record_checksum: bool = False) -> None:
    path = folder / "model.onnx"
    path.write_bytes(path.read_bytes()[:200])
    if record_checksum:  # as an export that crashed mid-write and still wrote its metadata would
        edit_metadata(folder, onnx_sha256=sha256_file(path))


def edit_metadata(folder: Path, **changes: object) -> None:
    path = folder / "metadata.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | changes))


DAMAGES: dict[str, tuple[Damage, str]] = {
    "checksum mismatch": (append_bytes, "sha256"),
    "truncated onnx": (truncate_onnx, "sha256"),
    "truncated onnx, checksum recorded": (
        lambda f: truncate_onnx(f, record_checksum=True),
        "onnxruntime cannot run",
    ),
    "metadata fails validation": (
        lambda f: edit_metadata(f, task="regression", inputs="tokens"),
        "metadata.json is invalid",
    ),
    "metadata not json": (lambda f: (f / "metadata.json").write_text("{"), "invalid"),
    "missing vocabulary": (lambda f: (f / "vocab.txt").unlink(), "vocabulary file"),
}


def wait_until_loaded(client: TestClient) -> None:
    """Wait until /v1/models lists no model as loading any more."""

    def loaded() -> bool:
        return all(m["status"] != "loading" for m in client.get("/v1/models").json()["models"])

    eventually(loaded, 30, what="every model loaded or failed")


@contextmanager
def damaged(tmp_path: Path, damage: str) -> Iterator[TestClient]:
    """digits-cnn beside a damaged sentiment-lstm, served; yields once both loaded or failed."""
    apply, _ = DAMAGES[damage]
    repository = build_repository(tmp_path, ("digits-cnn", "sentiment-lstm"))
    apply(repository / "sentiment-lstm" / "1")
    with running_app(tiny_settings(repository), wait_ready=False) as client:
        wait_until_loaded(client)
        yield client


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_faulty_model_is_refused_and_the_others_keep_serving(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    _, reason = DAMAGES[damage]
    with caplog.at_level(logging.ERROR), damaged(tmp_path, damage) as client:
        ready = client.get("/readyz")
        listed = client.get("/v1/models/sentiment-lstm").json()
        refused = client.post("/sentiment", json={"text": "good"})
        served = client.post("/predict/digit", json={"pixels": [[0] * 28] * 28})

    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(
        line.startswith("model sentiment-lstm version 1 cannot be served") and reason in line
        for line in lines
    ), lines
    assert ready.status_code == 503, ready.text
    models = ready.json()["models"]
    assert models["sentiment-lstm"]["status"] == "failed"
    assert reason in models["sentiment-lstm"]["error"]
    assert models["digits-cnn"]["status"] == "ready"
    assert (listed["status"], listed["version"]) == ("failed", "1")
    assert reason in listed["error"]
    assert reason in assert_error(refused, 503, "not_ready")
    assert served.status_code == 200, served.text


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_callers_see_model_files_relative_to_the_repository_and_the_log_sees_where(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    with caplog.at_level(logging.ERROR), damaged(tmp_path, damage) as client:
        answers = {
            url: client.get(url) for url in ("/readyz", "/v1/models", "/v1/models/sentiment-lstm")
        }
        answers["/sentiment"] = client.post("/sentiment", json={"text": "good"})
    for url, answer in answers.items():
        assert str(tmp_path) not in answer.text, f"{url} shows a server path: {answer.text}"
    shown = answers["/v1/models/sentiment-lstm"].json()["error"]
    assert "sentiment-lstm/1" in shown, shown
    logged = [r.getMessage() for r in caplog.records if "cannot be served" in r.getMessage()]
    assert any(str(tmp_path / "sentiment-lstm" / "1") in line for line in logged), logged


def test_a_version_refused_at_start_up_is_tried_once_until_a_new_one_arrives(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    repository = build_repository(tmp_path, ("sentiment-lstm", "digits-cnn"))
    append_bytes(repository / "sentiment-lstm" / "1")
    # The poller visits sentiment-lstm first, so digits-cnn versions served show it polled again.
    models = ["sentiment-lstm", "digits-cnn"]
    settings = tiny_settings(repository, models=models, reload_interval_s=0.02)
    with caplog.at_level(logging.ERROR), running_app(settings, wait_ready=False) as client:
        wait_until_loaded(client)
        refused = model_ready(client, "sentiment-lstm")
        for version in (2, 3):
            build_repository(repository, ("digits-cnn",), version=version)
            wait_for_version(client, "digits-cnn", str(version))
        build_repository(repository, ("sentiment-lstm",), version=2)
        wait_for_version(client, "sentiment-lstm", "2")
        ready = client.get("/readyz")
        accepted = model_ready(client, "sentiment-lstm")
    failures = [r for r in caplog.records if "version 1 cannot be served" in r.getMessage()]
    assert len(failures) == 1, "the broken version is logged once, not at every poll"
    assert ready.status_code == 200, ready.text
    assert (refused, accepted) == (0.0, 1.0), "serving_model_ready follows the model"


def wait_for_version(client: TestClient, model: str, version: str) -> None:
    """Wait until /v1/models says `version` of `model` is serving."""

    def serving() -> bool:
        listed = client.get(f"/v1/models/{model}").json()
        return (listed["status"], listed["version"]) == ("ready", version)

    eventually(serving, what=f"{model} version {version} serving")


def model_ready(client: TestClient, model: str) -> float:
    """The `serving_model_ready` gauge of one model, as /metrics shows it."""
    prefix = f'serving_model_ready{{model="{model}"}} '
    lines = [line for line in client.get("/metrics").text.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, f"no single {prefix!r} line in /metrics"
    return float(lines[0].removeprefix(prefix))


def test_a_model_folder_unreadable_at_start_up_fails_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repository = build_repository(tmp_path, ("digits-cnn", "sentiment-lstm"))
    unreadable(repository, monkeypatch)
    with running_app(tiny_settings(repository), wait_ready=False) as client:
        wait_until_loaded(client)
        models = client.get("/readyz").json()["models"]
        served = client.post("/predict/digit", json={"pixels": [[0] * 28] * 28})
    assert models["sentiment-lstm"]["status"] == "failed"
    assert "cannot be listed" in models["sentiment-lstm"]["error"]
    assert str(tmp_path) not in models["sentiment-lstm"]["error"], "no server paths to callers"
    assert served.status_code == 200, served.text


def test_a_repository_that_cannot_be_listed_serves_nothing_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(root: Path) -> list[str]:
        raise PermissionError(13, "Permission denied", str(root))

    monkeypatch.setattr(registry, "model_names", refuse)
    with running_app(tiny_settings(tmp_path), wait_ready=False) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "no models to serve" in ready.json()["reason"]
