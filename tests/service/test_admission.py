"""Admission under load: a full queue answers 429, a request that waited too long 503."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

from service.loading import LoadedModel
from service.settings import Settings
from tests.helpers.apps import running_app, tiny_settings
from tests.helpers.errors import BLANK, assert_error
from tests.helpers.waiting import eventually


class Gate:
    """Holds every batch of the app's models until opened, to fill queues on purpose."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.entered = threading.Event()
        original = LoadedModel.run

        def held(model: LoadedModel, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            self.entered.set()
            assert self.open.wait(20), "test never opened the gate"
            return original(model, feeds)

        self.run = held


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Gate:
    """Every model run waits at the gate until the test opens it."""
    held = Gate()
    monkeypatch.setattr(LoadedModel, "run", held.run)
    return held


def held_settings(repository: Path, **overrides: object) -> Settings:
    """digits-cnn with every batch in the inference thread: the gate blocks whoever runs it."""
    return tiny_settings(repository, models=["digits-cnn"], inline_inference_ms=0, **overrides)


def test_a_full_queue_answers_429_with_retry_after(tiny_repository: Path, gate: Gate) -> None:
    settings = held_settings(tiny_repository, queue_capacity=1)
    with running_app(settings) as test_client, ThreadPoolExecutor(2) as pool:
        post = lambda: test_client.post("/predict/digit", json={"pixels": BLANK})  # noqa: E731
        running = pool.submit(post)
        assert gate.entered.wait(10)
        queued = pool.submit(post)
        _wait_for_queue(test_client, "digits-cnn", requests=1)
        refused = post()
        # Admission comes before the body is read: even a body that is not JSON gets the 429.
        unread = test_client.post(
            "/predict/digit", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        gate.open.set()
        assert running.result().status_code == 200
        assert queued.result().status_code == 200
    assert "queued" in assert_error(refused, 429, "overloaded")
    assert int(refused.headers["retry-after"]) >= 1
    assert_error(unread, 429, "overloaded")


def test_a_request_past_its_deadline_answers_503(tiny_repository: Path, gate: Gate) -> None:
    settings = held_settings(tiny_repository, request_timeout_s=0.1)
    with running_app(settings) as test_client, ThreadPoolExecutor(2) as pool:
        post = lambda: test_client.post("/predict/digit", json={"pixels": BLANK})  # noqa: E731
        running = pool.submit(post)
        assert gate.entered.wait(10)
        late = pool.submit(post)
        _wait_for_queue(test_client, "digits-cnn", requests=1)
        # Not a wait for an event: the behaviour under test is 0.3 s passing against a 0.1 s
        # deadline while the request sits in the queue; expiry is only seen when it is dequeued.
        time.sleep(0.3)
        gate.open.set()
        assert running.result().status_code == 200
        expired = late.result()
    assert "deadline" in assert_error(expired, 503, "deadline_exceeded")
    assert "retry-after" in expired.headers


def _wait_for_queue(client: TestClient, model: str, requests: int) -> None:
    line = f'serving_batch_queue_depth{{model="{model}"}} {float(requests)}'
    eventually(
        lambda: line in client.get("/metrics").text,
        10,
        interval_s=0.01,
        what=f"the queue of {model} reaching {requests} requests",
    )
