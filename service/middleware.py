"""ASGI middleware: request id, access log line and request metrics; request body size limit.

Pure ASGI rather than BaseHTTPMiddleware: no extra task per request, and the body streams through.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PayloadTooLarge, error_response
from service.logs import REQUEST_ID
from service.metrics import Metrics

logger = logging.getLogger("service.access")

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is echoed into headers and logs, so only tame ones are accepted.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


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
            "%s %s %d %.1f ms",
            scope["method"],
            scope["path"],
            status,
            seconds * 1000,
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
    """413 for bodies over their route's cap: at once from Content-Length, else as they stream in.

    Each route with a body can have its own cap (`limits`, by exact path); others get `default`.
    """

    def __init__(
        self, app: ASGIApp, default: BodyLimit, limits: dict[str, BodyLimit] | None = None
    ) -> None:
        self.app = app
        self.default = default
        self.limits = limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        declared = _content_length(scope)
        if declared is not None and declared > limit.max_bytes:
            await error_response(_too_large(f"{declared} bytes", limit))(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    # Raised inside the route's body read, so the error handlers answer it.
                    raise _too_large(f"more than {limit.max_bytes} bytes", limit)
            return message

        await self.app(scope, limited_receive, send)


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
    return uuid.uuid4().hex


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
