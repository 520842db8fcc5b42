"""The middleware: request ids, one access-log line per request, bodies capped in size and time."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from fastapi import FastAPI, Request
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from starlette.types import Message, Scope

from service.app import create_app
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
    assert refused.headers["connection"] == "close", "uvicorn would read the rest of the body"
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
    assert response.headers["connection"] == "close"


@pytest.mark.parametrize(
    ("method", "url", "body", "closes"),
    [
        ("GET", "/healthz", None, False),
        ("POST", "/sentiment?model=rnn", b'{"text": "good"}', False),
        ("POST", "/no/such/route", b"x", True),  # 404 before reading the body
    ],
)
def test_only_an_answer_before_the_whole_body_closes_the_connection(
    client: TestClient, method: str, url: str, body: bytes | None, closes: bool
) -> None:
    headers = {"content-type": "application/json"} if url.startswith("/sentiment") else {}
    response = client.request(method, url, content=body, headers=headers)
    assert (response.headers.get("connection") == "close") is closes, response.headers


# --- bodies that stall, trickle or vanish: driven by hand, as uvicorn would ------------------

BODY_TIMEOUT_S = 0.2
CHUNK: Message = {"type": "http.request", "body": b"x" * 10, "more_body": True}


@pytest.fixture(scope="module")
def echo_app(tiny_repository: Path) -> FastAPI:
    """The app with a 0.2 s body deadline, and routes that read the body and say its length."""
    app = create_app(tiny_settings(tiny_repository, body_timeout_s=BODY_TIMEOUT_S))

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.post("/echo-slowly")
    async def echo_slowly(request: Request) -> dict[str, int]:
        body = await request.body()
        await asyncio.sleep(2 * BODY_TIMEOUT_S)  # an inference slower than the body deadline
        return {"bytes": len(body)}

    return app


@dataclass(frozen=True)
class Exchange:
    """One request driven by hand: what the app sent back, and how long it took to finish."""

    sent: list[Message]
    seconds: float

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.sent[0]["headers"]}

    def error_code(self) -> str:
        return str(orjson.loads(self.sent[1]["body"])["error"]["code"])


def exchange(app: FastAPI, client: AsyncIterator[Message], *, length: int, path: str) -> Exchange:
    """POST `path` announcing `length` bytes; the client's messages come from `client`, then none.

    Once `client` runs out, receive() never returns: a client that stalls without hanging up.
    """
    sent: list[Message] = []

    async def receive() -> Message:
        message = await anext(client, None)
        if message is None:  # the client stalls: a future nobody resolves
            never: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
            return await never
        return message

    async def send(message: Message) -> None:
        sent.append(message)

    async def run() -> float:
        started = time.perf_counter()
        await asyncio.wait_for(app(_post_scope(path, length), receive, send), timeout=5)
        return time.perf_counter() - started

    return Exchange(sent, asyncio.run(run()))


def _post_scope(path: str, length: int) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-length", str(length).encode())],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


async def client_sends(*messages: Message) -> AsyncIterator[Message]:
    for message in messages:
        yield message


async def trickles(chunks: int, interval_s: float) -> AsyncIterator[Message]:
    for _ in range(chunks):
        await asyncio.sleep(interval_s)  # a slow client on purpose: the trickle is the input
        yield CHUNK


def test_a_stalled_body_gets_408_and_the_connection_closes(echo_app: FastAPI) -> None:
    stalled = exchange(echo_app, client_sends(CHUNK), length=1000, path="/echo")
    assert stalled.status == 408
    assert stalled.error_code() == "request_timeout"
    assert stalled.headers["connection"] == "close"
    assert BODY_TIMEOUT_S <= stalled.seconds < BODY_TIMEOUT_S + 1, "the handler ends at the 408"
    message = orjson.loads(stalled.sent[1]["body"])["error"]["message"]
    assert "SERVING_BODY_TIMEOUT_S" in message
    assert "10 of 1000 bytes" in message


def test_the_deadline_is_for_the_whole_body_not_each_chunk(echo_app: FastAPI) -> None:
    # Each chunk comes well within the deadline; all 20 would take five times it.
    slow = exchange(echo_app, trickles(20, BODY_TIMEOUT_S / 4), length=200, path="/echo")
    assert slow.status == 408, slow.sent
    assert slow.seconds < BODY_TIMEOUT_S + 1


def test_time_after_the_body_is_not_the_body_deadline(echo_app: FastAPI) -> None:
    whole = {"type": "http.request", "body": b"x" * 10, "more_body": False}
    answered = exchange(echo_app, client_sends(whole), length=10, path="/echo-slowly")
    assert answered.status == 200, answered.sent
    assert "connection" not in answered.headers, "the body was read: the connection is kept"


def test_a_client_that_hangs_up_mid_body_is_a_499_logged_at_info(
    echo_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        gone = exchange(
            echo_app, client_sends(CHUNK, {"type": "http.disconnect"}), length=1000, path="/echo"
        )
    assert gone.sent == [], "nobody is left to answer"
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    (line,) = [r for r in caplog.records if r.name == "service.access"]
    assert line.status == 499, line.getMessage()  # type: ignore[attr-defined]
    assert line.getMessage().endswith("client_closed")
    scraped = echo_app.state.metrics.render().decode()
    assert 'endpoint="/echo",model="",status="499"} 1.0' in scraped


@settings(max_examples=12, deadline=None)
@given(length=st.integers(1, 100_000), sizes=st.lists(st.integers(1, 4096), max_size=3))
def test_any_body_that_stops_short_gets_408_naming_what_arrived(
    echo_app: FastAPI, length: int, sizes: list[int]
) -> None:
    assume(sum(sizes) < length)
    chunks = [{"type": "http.request", "body": b"x" * size, "more_body": True} for size in sizes]
    stalled = exchange(echo_app, client_sends(*chunks), length=length, path="/echo")
    assert stalled.status == 408, stalled.sent
    assert stalled.seconds < BODY_TIMEOUT_S + 1
    assert (
        f"{sum(sizes)} of {length} bytes"
        in orjson.loads(stalled.sent[1]["body"])["error"]["message"]
    )
