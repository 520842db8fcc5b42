"""The middleware: request ids, one access-log line per request, and each route's body cap."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.helpers.apps import running_app, tiny_settings
from tests.helpers.errors import BLANK, assert_error


def test_an_incoming_request_id_is_echoed(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


@pytest.mark.parametrize("incoming", [None, "", "bad id with spaces", "x" * 200])
def test_a_missing_or_unsafe_request_id_is_replaced(
    client: TestClient, incoming: str | None
) -> None:
    headers = {} if incoming is None else {"X-Request-ID": incoming}
    response = client.get("/healthz", headers=headers)
    generated = response.headers["x-request-id"]
    assert generated != incoming
    assert len(generated) == 32


def test_errors_carry_the_request_id_too(client: TestClient) -> None:
    response = client.post("/predict/digit", content=b"x", headers={"X-Request-ID": "err-1"})
    assert response.status_code == 415, response.text
    assert response.headers["x-request-id"] == "err-1"


def test_each_request_logs_one_line(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="service.access"):
        client.post(
            "/sentiment?model=rnn", json={"text": "good"}, headers={"X-Request-ID": "log-1"}
        )
    lines = [r for r in caplog.records if r.name == "service.access"]
    assert len(lines) == 1
    record = lines[0]
    assert record.getMessage().startswith("POST /sentiment 200 ")
    assert (record.method, record.path, record.status) == ("POST", "/sentiment", 200)  # type: ignore[attr-defined]
    assert record.model == "sentiment-rnn"  # type: ignore[attr-defined]
    assert record.duration_ms > 0  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def small_body_client(tiny_repository: Path) -> Iterator[TestClient]:
    """The app with small caps: 300 bytes by default, 4000 for digits, 1000 for reviews."""
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
