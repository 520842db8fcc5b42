"""Every error, over HTTP: the right status and one envelope `{"error": {"code", "message"}}`."""

from __future__ import annotations

import base64
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from starlette.testclient import TestClient

from service.loading import LoadedModel
from tests.service.conftest import running_app, tiny_settings

BLANK = [[0] * 28 for _ in range(28)]


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    """Check status and envelope; return the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    assert "Traceback" not in response.text
    return str(body["error"]["message"])


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares a huge size in its header (a decompression bomb, minus the bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b""))


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status", "code", "fragment"),
    [
        (
            "post",
            "/predict/digit",
            {"content": b"\x89PNG garbage", "headers": {"content-type": "image/png"}},
            400,
            "invalid_image",
            "could not decode",
        ),
        (
            "post",
            "/predict/digit",
            {"json": {"image": base64.b64encode(b"not an image").decode()}},
            400,
            "invalid_image",
            "could not decode",
        ),
        ("post", "/predict/digit", {"json": {"image": "%%%"}}, 400, "invalid_image", "base64"),
        (
            "post",
            "/predict/digit",
            {"json": {"image": "\u0084r\u009bg"}},
            400,
            "invalid_image",
            "ASCII",
        ),
        (
            "post",
            "/predict/digit",
            {"content": png_header(10_000, 5_000), "headers": {"content-type": "image/png"}},
            413,
            "payload_too_large",
            "megapixels",
        ),
        (
            "post",
            "/predict/digit?model=nope",
            {"json": {"pixels": BLANK}},
            404,
            "unknown_model",
            "mlp, cnn, resnet",
        ),
        (
            "post",
            "/sentiment?model=cnn",
            {"json": {"text": "good"}},
            404,
            "unknown_model",
            "/sentiment",
        ),
        ("get", "/generate?model=lstm", {}, 404, "unknown_model", "dcgan, conditional"),
        ("get", "/v1/models/nope", {}, 404, "unknown_model", "digits-cnn"),
        ("get", "/nope", {}, 404, "not_found", "GET /nope"),
        ("get", "/predict/digit", {}, 405, "method_not_allowed", "GET"),
        (
            "post",
            "/predict/digit",
            {"json": {"instances": [{"pixels": BLANK}] * 65}},
            413,
            "payload_too_large",
            "at most 64",
        ),
        (
            "post",
            "/sentiment",
            {"json": {"text": "good " * 20_001}},
            413,
            "payload_too_large",
            "100000",
        ),
        (
            "post",
            "/predict/digit",
            {"content": b"hello", "headers": {"content-type": "text/plain"}},
            415,
            "unsupported_media_type",
            "text/plain",
        ),
        ("post", "/predict/digit", {"content": b"hello"}, 415, "unsupported_media_type", "(none)"),
        (
            "post",
            "/sentiment",
            {"content": b"x", "headers": {"content-type": "image/png"}},
            415,
            "unsupported_media_type",
            "application/json",
        ),
        (
            "post",
            "/predict/digit",
            {"json": {"pixels": BLANK[:27]}},
            422,
            "invalid_request",
            "shape (27, 28)",
        ),
        (
            "post",
            "/predict/digit",
            {"json": {"pixels": [[300] * 28] * 28}},
            422,
            "invalid_request",
            "is 300",
        ),
        (
            "post",
            "/predict/digit",
            {"content": b'{"pixels": [[NaN]]}', "headers": {"content-type": "application/json"}},
            422,
            "invalid_request",
            "not valid JSON",
        ),
        (
            "post",
            "/sentiment",
            {"content": b"{", "headers": {"content-type": "application/json"}},
            422,
            "invalid_request",
            "not valid JSON",
        ),
        ("get", "/generate?count=0", {}, 422, "invalid_request", "'count'"),
        ("get", "/generate?digit=10", {}, 422, "invalid_request", "'digit'"),
        ("get", "/generate?seed=-1", {}, 422, "invalid_request", "'seed'"),
        ("get", "/generate?format=gif", {}, 422, "invalid_request", "'format'"),
        ("get", "/generate?digit=3&model=dcgan", {}, 422, "invalid_request", "unconditional"),
    ],
)
def test_errors_have_one_envelope(
    client: TestClient,
    method: str,
    url: str,
    kwargs: dict[str, object],
    status: int,
    code: str,
    fragment: str,
) -> None:
    response = getattr(client, method)(url, **kwargs)
    assert fragment in assert_error(response, status, code)


@pytest.fixture(scope="module")
def small_body_client(tiny_repository: Path) -> Iterator[TestClient]:
    settings = tiny_settings(
        tiny_repository,
        max_body_bytes=300,
        max_digit_body_bytes=4000,
        max_sentiment_body_bytes=1000,
    )
    with running_app(settings) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("url", "size", "setting"),
    [
        ("/predict/digit", 4001, "SERVING_MAX_DIGIT_BODY_BYTES"),
        ("/sentiment", 1001, "SERVING_MAX_SENTIMENT_BODY_BYTES"),
        ("/no/such/route", 301, "SERVING_MAX_BODY_BYTES"),
    ],
)
def test_each_route_has_its_own_body_cap(
    small_body_client: TestClient, url: str, size: int, setting: str
) -> None:
    headers = {"content-type": "application/json"}
    body = b'{"text": "' + b"x" * (size - 12) + b'"}'
    assert len(body) == size
    refused = small_body_client.post(url, content=body, headers=headers)
    message = assert_error(refused, 413, "payload_too_large")
    assert setting in message
    assert f"{size} bytes" in message
    under = small_body_client.post(url, content=body[:-1], headers=headers)
    assert under.status_code != 413, under.text


def test_a_text_under_the_digit_cap_is_over_the_sentiment_cap(
    small_body_client: TestClient,
) -> None:
    text = {"text": "good " * 300}
    assert_error(small_body_client.post("/sentiment", json=text), 413, "payload_too_large")
    pixels = small_body_client.post("/predict/digit", json={"pixels": BLANK})
    assert pixels.status_code == 200, pixels.text


def test_a_streamed_body_over_the_limit_is_cut_off(small_body_client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        for _ in range(10):
            yield b"x" * 500

    response = small_body_client.post(
        "/predict/digit", content=chunks(), headers={"content-type": "image/png"}
    )
    assert "more than 4000 bytes" in assert_error(response, 413, "payload_too_large")


def test_a_bug_is_a_bare_500_with_the_request_id(tiny_repository: Path) -> None:
    with running_app(tiny_settings(tiny_repository), wait_ready=False) as test_client:

        @test_client.app.get("/boom")  # type: ignore[attr-defined, misc]
        async def boom() -> None:
            raise RuntimeError("secret internals")

        response = test_client.get("/boom", headers={"X-Request-ID": "trace-me"})
    message = assert_error(response, 500, "internal_error")
    assert "secret" not in response.text
    assert "trace-me" in message
    assert response.headers["x-request-id"] == "trace-me"


def test_a_model_that_failed_to_load_answers_503_while_others_serve(tmp_path: Path) -> None:
    from tests.service.tiny_models import build_repository

    root = build_repository(tmp_path, ("digits-cnn", "digits-mlp"))
    with (root / "digits-mlp" / "1" / "model.onnx").open("ab") as onnx_file:
        onnx_file.write(b"tampered")
    with running_app(tiny_settings(root), wait_ready=False) as test_client:
        deadline = time.monotonic() + 30
        while test_client.get("/v1/models/mlp").json()["status"] == "loading":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        broken = test_client.post("/predict/digit?model=mlp", json={"pixels": BLANK})
        working = test_client.post("/predict/digit?model=cnn", json={"pixels": BLANK})
        ready = test_client.get("/readyz")
    assert "sha256" in assert_error(broken, 503, "not_ready")
    assert int(broken.headers["retry-after"]) >= 1
    assert working.status_code == 200, working.text
    assert ready.status_code == 503, ready.text
    assert ready.json()["models"]["digits-mlp"]["status"] == "failed"
    assert ready.json()["models"]["digits-cnn"]["status"] == "ready"


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
    held = Gate()
    monkeypatch.setattr(LoadedModel, "run", held.run)
    return held


def test_a_full_queue_answers_429_with_retry_after(tiny_repository: Path, gate: Gate) -> None:
    settings = tiny_settings(tiny_repository, models=["digits-cnn"], queue_capacity=1)
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
    settings = tiny_settings(tiny_repository, models=["digits-cnn"], request_timeout_s=0.1)
    with running_app(settings) as test_client, ThreadPoolExecutor(2) as pool:
        post = lambda: test_client.post("/predict/digit", json={"pixels": BLANK})  # noqa: E731
        running = pool.submit(post)
        assert gate.entered.wait(10)
        late = pool.submit(post)
        _wait_for_queue(test_client, "digits-cnn", requests=1)
        time.sleep(0.3)
        gate.open.set()
        assert running.result().status_code == 200
        expired = late.result()
    assert "deadline" in assert_error(expired, 503, "deadline_exceeded")
    assert "retry-after" in expired.headers


def _wait_for_queue(client: TestClient, model: str, requests: int) -> None:
    line = f'serving_batch_queue_depth{{model="{model}"}} {float(requests)}'
    deadline = time.monotonic() + 10
    while line not in client.get("/metrics").text:
        assert time.monotonic() < deadline, f"queue of {model} never reached {requests} requests"
        time.sleep(0.01)
