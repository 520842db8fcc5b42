"""Checks on the service's error envelope `{"error": {"code", "message"}}`."""

from __future__ import annotations

import httpx

# A valid, empty 28×28 digit: for requests that must fail for another reason than their pixels.
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
