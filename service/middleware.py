"""ASGI middleware: request id, access log line and request metrics; request body size and time.

Pure ASGI rather than BaseHTTPMiddleware: no extra task per request, and the body streams through.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PayloadTooLarge, RequestTimeout, error_response
from service.logs import REQUEST_ID
from service.metrics import Metrics

logger = logging.getLogger("service.access")

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is echoed into headers and logs, so only tame ones are accepted.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
# nginx's status for a client that hung up before its answer: neither a success nor a server error.
CLIENT_CLOSED = 499


class RequestContextMiddleware:
    """Give each request an id (incoming X-Request-ID or a new one), log it, count it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        status = 500  # what the client gets if the app raises before responding
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            # Starlette's answer to a hang-up mid-body. Nobody is left to answer and it is no
            # fault of ours: a 499 here, not a 500 with two tracebacks at ERROR (ours, uvicorn's).
            status = CLIENT_CLOSED
        finally:
            self.metrics.in_flight.dec()
            self._finish(scope, status, time.perf_counter() - started)
            REQUEST_ID.reset(token)

    def _finish(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        # Label by route template, never the raw path: unknown paths must not create series.
        endpoint = getattr(route, "path", "unmatched")
        model = scope.get("state", {}).get("model", "")
        self.metrics.observe_request(endpoint, model, status, seconds)
        logger.info(
            "%s %s %d %.1f ms%s",
            scope["method"],
            scope["path"],
            status,
            seconds * 1000,
            " client_closed" if status == CLIENT_CLOSED else "",
            extra={
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "model": model or None,
            },
        )


@dataclass(frozen=True)
class BodyLimit:
    """A body size cap and the setting that changes it (named in the 413 message)."""

    max_bytes: int
    setting: str


class BodyLimitMiddleware:
    """Bound each request body: 413 past its route's cap, 408 past the body deadline.

    Each route with a body can have its own cap (`limits`, by exact path); others get `default`.
    The cap holds at once from Content-Length, else as chunks stream in; the deadline,
    `timeout_s`, is for the whole body from the route's first read.
    """

    def __init__(
        self,
        app: ASGIApp,
        default: BodyLimit,
        limits: dict[str, BodyLimit] | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.app = app
        self.default = default
        self.limits = limits or {}
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        body = BoundedBody(scope, receive, send, limit, self.timeout_s)
        if body.declared is not None and body.declared > limit.max_bytes:
            refusal = _too_large(f"{body.declared} bytes", limit)
            await error_response(refusal, scope["path"])(scope, body.receive, body.send)
            return
        await self.app(scope, body.receive, body.send)


class BoundedBody:
    """One request's body as the app reads it: capped in size and in time.

    Both limits raise from `receive()`, inside the route's body read: the handler ends (its
    admission slot is freed at once) and the error handlers answer. Any answer that starts before
    the body has arrived closes the connection: uvicorn would otherwise read and discard the rest
    for as long as the client sends (17 GB in 10 s of an endless chunked body after its 413).
    """

    def __init__(
        self, scope: Scope, receive: Receive, send: Send, limit: BodyLimit, timeout_s: float
    ) -> None:
        self._receive = receive
        self._send = send
        self.limit = limit
        self.timeout_s = timeout_s
        self.declared = _content_length(scope)
        self.received = 0
        self.deadline: float | None = None  # loop time; set by the first read
        self.complete = not _has_body(scope, self.declared)

    async def receive(self) -> Message:
        """The next body chunk, within the deadline; after the body, uvicorn's message as is."""
        if self.complete:
            return await self._receive()  # only `http.disconnect` is left to come: no deadline
        if self.deadline is None:
            self.deadline = asyncio.get_running_loop().time() + self.timeout_s
        # asyncio.timeout: ~6 µs a read on the 2-core build machine. A hand-rolled timer saved
        # 3 µs of it; not worth re-doing its cancel/uncancel bookkeeping.
        try:
            async with asyncio.timeout_at(self.deadline):
                message = await self._receive()
        except TimeoutError:
            raise RequestTimeout(self._late_message()) from None
        if message["type"] == "http.request":
            self._count(message)
        return message

    async def send(self, message: Message) -> None:
        """Send on, closing the connection when the answer comes before the whole body."""
        if message["type"] == "http.response.start" and not self.complete:
            MutableHeaders(scope=message)["Connection"] = "close"
        await self._send(message)

    def _count(self, message: Message) -> None:
        self.received += len(message.get("body", b""))
        if self.received > self.limit.max_bytes:
            raise _too_large(f"more than {self.limit.max_bytes} bytes", self.limit)
        self.complete = not message.get("more_body", False)

    def _late_message(self) -> str:
        expected = "" if self.declared is None else f" of {self.declared}"
        return (
            f"the request body did not arrive within {self.timeout_s:g} s "
            f"(SERVING_BODY_TIMEOUT_S): {self.received}{expected} bytes came; send it at once"
        )


def _has_body(scope: Scope, declared: int | None) -> bool:
    """Whether the request announces a body (HTTP/1.1: a non-zero Content-Length, or chunks)."""
    if declared is not None:
        return declared > 0
    return any(name == b"transfer-encoding" for name, _ in scope["headers"])


def _too_large(size: str, limit: BodyLimit) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"request body is {size}; at most {limit.max_bytes} bytes are accepted here "
        f"({limit.setting}); send fewer instances per request"
    )


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SAFE_ID.fullmatch(candidate):
                return candidate
    # Not uuid4: its os.urandom call releases the GIL on every request, and a decode thread
    # holding it then stalls the event loop (11 % of the loop's samples under PNG load, by
    # py-spy). Ids need to be unique, not secret; each process seeds its own generator.
    return f"{random.getrandbits(128):032x}"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
