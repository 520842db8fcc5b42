"""Every error, over HTTP: the right status and one envelope `{"error": {"code", "message"}}`."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.helpers.apps import running_app, tiny_settings
from tests.helpers.errors import BLANK, assert_error
from tests.helpers.tiny_models import build_repository
from tests.helpers.waiting import eventually


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
        ("get", "/nope", {}, 404, "not_found", "GET '/nope'"),
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


BOUNDARY = "b0undary"
MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def multipart(*parts: str) -> bytes:
    """A multipart body of `parts`, each its headers, a blank line and its content."""
    return "".join(f"--{BOUNDARY}\r\n{part}\r\n" for part in parts).encode() + (
        f"--{BOUNDARY}--\r\n".encode()
    )


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        (
            {"content": b"x", "headers": {"content-type": "multipart/form-data"}},
            "Missing boundary",
        ),
        ({"files": [("file", ("a.png", b"1")), ("file", ("b.png", b"2"))]}, "number of files is 1"),
        (
            {"data": {f"field{i}": "x" for i in range(9)}, "files": {"file": ("a.png", b"1")}},
            "number of fields is 8",
        ),
        (
            {"content": multipart("Content-Type: image/png\r\n\r\nx"), "headers": MULTIPART},
            "Content-Disposition",
        ),
        ({"content": multipart("Garbage\r\n\r\nx"), "headers": MULTIPART}, "Invalid multipart"),
    ],
)
def test_a_multipart_body_that_cannot_be_read_is_invalid_multipart(
    client: TestClient, kwargs: dict[str, object], fragment: str
) -> None:
    response = client.post("/predict/digit", **kwargs)  # type: ignore[arg-type]
    message = assert_error(response, 400, "invalid_multipart")
    assert message.startswith("multipart/form-data body refused: "), message
    assert fragment in message


LONG = "9" * 5_000


@pytest.mark.parametrize(
    ("url", "status", "code", "length"),
    [
        (f"/generate?seed={LONG}", 422, "invalid_request", 5_000),
        (f"/generate?count={LONG}", 422, "invalid_request", 5_000),
        (f"/generate?model={LONG}", 404, "unknown_model", 5_000),
        (f"/v1/models/{LONG}", 404, "unknown_model", 5_000),
        (f"/{LONG}", 404, "not_found", 5_001),
    ],
)
def test_echoed_values_are_cut_to_a_prefix_and_their_length(
    client: TestClient, url: str, status: int, code: str, length: int
) -> None:
    message = assert_error(client.get(url), status, code)
    assert f"… ({length} characters)" in message, message
    assert "9" * 41 not in message
    assert len(message) < 400, message


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
    root = build_repository(tmp_path, ("digits-cnn", "digits-mlp"))
    with (root / "digits-mlp" / "1" / "model.onnx").open("ab") as onnx_file:
        onnx_file.write(b"tampered")
    with running_app(tiny_settings(root), wait_ready=False) as test_client:
        eventually(
            lambda: test_client.get("/v1/models/mlp").json()["status"] != "loading",
            30,
            what="digits-mlp to finish loading (and fail)",
        )
        broken = test_client.post("/predict/digit?model=mlp", json={"pixels": BLANK})
        working = test_client.post("/predict/digit?model=cnn", json={"pixels": BLANK})
        ready = test_client.get("/readyz")
    assert "sha256" in assert_error(broken, 503, "not_ready")
    assert int(broken.headers["retry-after"]) >= 1
    assert working.status_code == 200, working.text
    assert ready.status_code == 503, ready.text
    assert ready.json()["models"]["digits-mlp"]["status"] == "failed"
    assert ready.json()["models"]["digits-cnn"]["status"] == "ready"
