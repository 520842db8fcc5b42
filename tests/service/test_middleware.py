"""Request ids and the one access-log line per request."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient


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
