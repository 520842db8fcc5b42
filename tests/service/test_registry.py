"""Faulty models: each is refused with a clear log line and reported, while the others serve."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from export.repository import sha256_file
from tests.service.conftest import running_app, tiny_settings
from tests.service.test_errors import assert_error
from tests.service.tiny_models import build_repository

Damage = Callable[[Path], None]


def append_bytes(folder: Path) -> None:
    with (folder / "model.onnx").open("ab") as onnx_file:
        onnx_file.write(b"tampered")


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
    """Poll /v1/models until no model is loading any more."""
    deadline = time.monotonic() + 30
    while any(m["status"] == "loading" for m in client.get("/v1/models").json()["models"]):
        assert time.monotonic() < deadline, "models still loading after 30 s"
        time.sleep(0.02)


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_faulty_model_is_refused_and_the_others_keep_serving(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    apply, reason = DAMAGES[damage]
    repository = build_repository(tmp_path, ("digits-cnn", "sentiment-lstm"))
    apply(repository / "sentiment-lstm" / "1")
    with (
        caplog.at_level(logging.ERROR),
        running_app(tiny_settings(repository), wait_ready=False) as client,
    ):
        wait_until_loaded(client)
        ready = client.get("/readyz")
        listed = client.get("/v1/models/sentiment-lstm").json()
        refused = client.post("/sentiment", json={"text": "good"})
        served = client.post("/predict/digit", json={"pixels": [[0] * 28] * 28})

    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(
        line.startswith("model sentiment-lstm cannot be served") and reason in line
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
