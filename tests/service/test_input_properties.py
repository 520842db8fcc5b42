"""Property tests over HTTP: whatever arrives as an image or a text, the answer is a clear 2xx/4xx.

Never a 5xx, never a traceback: each error is the envelope with a message a user can act on.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from starlette.testclient import TestClient

from tests.helpers.errors import assert_error

# The module-scoped `client` is shared by every example; that is what it is for.
PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp", "application/octet-stream"]
MAGIC = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"BM", b"RIFF\x00\x00\x00\x00WEBP"]
ONE_MB = 1_048_576
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


def assert_clear(response: httpx.Response, allowed: set[int]) -> None:
    """An expected status, and every error in the envelope."""
    assert response.status_code in allowed, response.text[:500]
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        assert body["error"]["message"], body
        assert "Traceback" not in response.text


# --- images -----------------------------------------------------------------------------------


@PROPERTY
@given(data=st.binary(max_size=4096), media=st.sampled_from(IMAGE_TYPES))
def test_arbitrary_bytes_as_an_image_body(client: TestClient, data: bytes, media: str) -> None:
    response = client.post("/predict/digit", content=data, headers={"content-type": media})
    assert_clear(response, {200, 400, 413})


@PROPERTY
@given(magic=st.sampled_from(MAGIC), rest=st.binary(max_size=2048))
def test_bytes_behind_a_real_file_signature(client: TestClient, magic: bytes, rest: bytes) -> None:
    # The decoders get past their first check and chew on the rest.
    response = client.post(
        "/predict/digit", content=magic + rest, headers={"content-type": "image/png"}
    )
    assert_clear(response, {200, 400, 413})


@PROPERTY
@given(text=st.text(max_size=200), batched=st.booleans())
def test_any_string_as_a_base64_image(client: TestClient, text: str, batched: bool) -> None:
    # A non-ASCII string once made base64 raise a ValueError that became a 500.
    instance = {"image": text}
    body = {"instances": [instance]} if batched else instance
    response = client.post("/predict/digit", json=body)
    assert_clear(response, {200, 400, 413})


@PROPERTY
@given(data=st.binary(max_size=2048))
def test_arbitrary_bytes_as_an_upload(client: TestClient, data: bytes) -> None:
    response = client.post("/predict/digit", files={"file": ("digit.png", data, "image/png")})
    assert_clear(response, {200, 400, 413})


@PROPERTY
@given(data=st.binary(max_size=1024), media=st.text(max_size=40))
def test_arbitrary_bytes_with_any_content_type(client: TestClient, data: bytes, media: str) -> None:
    headers = {"content-type": media.encode("utf-8")}  # any bytes, as a raw client could send
    for url in ("/predict/digit", "/sentiment"):
        response = client.post(url, content=data, headers=headers)
        assert_clear(response, {200, 400, 413, 415, 422})


def png(width: int, height: int, ink: bool = True) -> bytes:
    """A real PNG: white paper, with a dark bar across the middle when `ink`."""
    canvas = np.full((height, width), 255, dtype=np.uint8)
    if ink:
        canvas[height // 3 : max(height // 3 + 1, 2 * height // 3), :] = 0
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, "PNG")
    return buffer.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A genuine decompression bomb: a valid PNG of width×height zeros, a few kB compressed."""
    squeeze = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + one grey byte per pixel
    idat = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("image", "status", "fragment"),
    [
        (png(1, 1), 400, "1x1 px"),
        (png(7, 7), 400, "at least 8x8"),
        (png(1, 5000), 400, "at least 8x8"),
        (png(8, 8), 200, ""),
        (png(28, 28, ink=False), 400, "no ink"),
        (png(3000, 1000), 200, ""),
        (png(4000, 4000), 200, ""),
        (png_bomb(8000, 8000), 413, "megapixels"),
    ],
    ids=["one pixel", "7x7", "1x5000", "8x8", "blank", "3000x1000", "16 MP", "bomb 64 MP"],
)
def test_tiny_huge_and_bomb_images(
    client: TestClient, image: bytes, status: int, fragment: str
) -> None:
    for response in (
        client.post("/predict/digit", content=image, headers={"content-type": "image/png"}),
        client.post("/predict/digit", files={"file": ("digit.png", image, "image/png")}),
    ):
        if status == 200:
            assert response.status_code == 200, response.text
        else:
            code = "payload_too_large" if status == 413 else "invalid_image"
            assert fragment in assert_error(response, status, code)


def test_a_bomb_is_small_on_the_wire() -> None:
    assert len(png_bomb(8000, 8000)) < 200_000, "the point of a bomb: tiny upload, huge image"


NINE_MEGAPIXELS = base64.b64encode(png_bomb(3000, 3000)).decode()  # each under the 40 MP cap


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(count=st.integers(1, 8))
def test_bombs_that_together_exceed_the_request_budget_are_refused_undecoded(
    client: TestClient, count: int
) -> None:
    body = {"instances": [{"image": NINE_MEGAPIXELS}] * count}
    response = client.post("/predict/digit", json=body)
    if count * 9 > 40:  # SERVING_MAX_REQUEST_IMAGE_PIXELS: 40 megapixels per request
        message = assert_error(response, 413, "payload_too_large")
        assert f"{count} image(s) hold {count * 9:.1f} megapixels together" in message
    else:
        assert "no ink" in assert_error(response, 400, "invalid_image"), "decoded: blank paper"


# --- texts ------------------------------------------------------------------------------------


@PROPERTY
@given(text=st.text(max_size=500))
def test_any_unicode_text_is_scored_or_refused_clearly(client: TestClient, text: str) -> None:
    response = client.post("/sentiment", json={"text": text})
    if text.strip():
        assert response.status_code == 200, response.text
        assert 0 <= response.json()["score"] <= 1
    else:
        assert "empty" in assert_error(response, 422, "invalid_request")


@PROPERTY
@given(text=st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Zl", "Zp"])))
def test_control_and_format_characters(client: TestClient, text: str) -> None:
    response = client.post("/sentiment", json={"texts": [text or "\x00", "good"]})
    assert_clear(response, {200, 422})


@PROPERTY
@given(payload=JSON_VALUES)
def test_any_json_document(client: TestClient, payload: object) -> None:
    body, headers = json.dumps(payload).encode(), {"content-type": "application/json"}
    for url in ("/sentiment", "/predict/digit"):
        response = client.post(url, content=body, headers=headers)
        assert_clear(response, {200, 400, 413, 422})


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (json.dumps({"text": ""}).encode(), 422, "empty"),
        (json.dumps({"text": " \t\n\u3000"}).encode(), 422, "empty"),
        (json.dumps({"text": "good " * 20_000}).encode(), 200, ""),
        (json.dumps({"text": "x" * 100_001}).encode(), 413, "100000"),
        (json.dumps({"text": "good " * (ONE_MB // 5)}).encode(), 413, "1048576 bytes"),
        (json.dumps({"text": "\x00good\x00"}).encode(), 200, ""),
        (json.dumps({"text": "שלום good 😀 \u202e"}, ensure_ascii=False).encode(), 200, ""),
        (b'{"text": "\\ud800 good"}', 422, "not valid JSON"),
        (b'{"text": "good", "text": "bad"}', 200, ""),
        (json.dumps({"texts": []}).encode(), 422, "non-empty"),
        (json.dumps({"texts": ["good"] * 65}).encode(), 413, "at most 64"),
    ],
    ids=[
        "empty",
        "whitespace",
        "100 kB",
        "100 001 chars",
        "1 MB",
        "NUL",
        "RTL and emoji",
        "lone surrogate",
        "duplicate key",
        "empty batch",
        "65 texts",
    ],
)
def test_edge_texts(client: TestClient, body: bytes, status: int, fragment: str) -> None:
    response = client.post("/sentiment", content=body, headers={"content-type": "application/json"})
    if status == 200:
        assert response.status_code == 200, response.text
    else:
        code = "payload_too_large" if status == 413 else "invalid_request"
        assert fragment in assert_error(response, status, code)
