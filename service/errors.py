# ruff: noqa: N818 - errors are named for what happened (`InvalidImage`, as in STYLE.md §5)
"""Typed domain errors and the one place that turns any error into the HTTP error envelope.

Every error leaves the service as `{"error": {"code": ..., "message": ...}}`; routes raise, they
never build error JSON.
"""

from __future__ import annotations

import logging
import math
from typing import ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from service.responses import OrjsonResponse

logger = logging.getLogger(__name__)
# The Open Inference Protocol's routes (service/oip) answer errors in the protocol's shape.
OIP_PREFIX = "/v2"


class ServiceError(Exception):
    """Base of every error a client can cause or observe; subclasses fix status and code."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    headers: ClassVar[tuple[tuple[str, str], ...]] = ()  # sent with every answer of this error

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float | None = None,
        details: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s
        self.details = details or {}  # extra top-level fields beside "error" (/readyz's report)


class InvalidImage(ServiceError):
    status_code = 400
    code = "invalid_image"


class InvalidMultipart(ServiceError):
    """A multipart/form-data body that cannot be parsed, or holds too many files or fields."""

    status_code = 400
    code = "invalid_multipart"


class Unauthorized(ServiceError):
    status_code = 401
    code = "unauthorized"
    headers = (("WWW-Authenticate", 'Bearer realm="serving"'),)


class Forbidden(ServiceError):
    status_code = 403
    code = "forbidden"


class UnknownModel(ServiceError):
    status_code = 404
    code = "unknown_model"


class RequestTimeout(ServiceError):
    """The request body did not arrive within `body_timeout_s`."""

    status_code = 408
    code = "request_timeout"


class PayloadTooLarge(ServiceError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(ServiceError):
    status_code = 415
    code = "unsupported_media_type"


class ReloadFailed(ServiceError):
    """A new model version could not be loaded; the previous one (if any) keeps serving."""

    status_code = 409
    code = "reload_failed"


class InvalidRequest(ServiceError):
    status_code = 422
    code = "invalid_request"


class Overloaded(ServiceError):
    status_code = 429
    code = "overloaded"


class InferenceFailed(ServiceError):
    """onnxruntime failed on validated input: a bug or a broken device, never the client's fault."""

    status_code = 500
    code = "internal_error"


class NotReady(ServiceError):
    status_code = 503
    code = "not_ready"


class ShuttingDown(ServiceError):
    """The drain grace is over: new requests are refused while in-flight ones finish."""

    status_code = 503
    code = "shutting_down"
    # Close the keep-alive connection too, so the client's next attempt goes to another replica.
    headers = (("Connection", "close"),)


class DeadlineExceeded(ServiceError):
    """The request waited in the queue past `request_timeout_s` and was dropped before inference."""

    status_code = 503
    code = "deadline_exceeded"


# Enough to recognise a value; an answer (and the log line of a 500) never grows with the input.
ECHO_CHARS = 40

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def echo(value: str) -> str:
    """A client's value quoted in a message: cut to ECHO_CHARS characters, with its length."""
    if len(value) <= ECHO_CHARS:
        return repr(value)
    return f"{value[:ECHO_CHARS]!r}… ({len(value)} characters)"


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """The error envelope."""
    return {"error": {"code": code, "message": message}}


def retry_after_header(seconds: float) -> dict[str, str]:
    """`Retry-After` in whole seconds, at least 1 (HTTP allows no fractions)."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def envelope(code: str, message: str, path: str) -> dict[str, object]:
    """Our `{"error": {"code", "message"}}`, or under /v2 the protocol's `{"error": message}`.

    The Open Inference Protocol fixes its error shape (tritonclient raises the `error` text), and
    it holds for every answer under /v2, including the middleware's 408/413/503 and routing 404s.
    """
    return {"error": message} if _speaks_protocol(path) else dict(error_body(code, message))


def _speaks_protocol(path: str) -> bool:
    return path == OIP_PREFIX or path.startswith(OIP_PREFIX + "/")


def error_response(exc: ServiceError, path: str = "") -> OrjsonResponse:
    """The envelope response for a domain error, with `Retry-After` where it applies."""
    headers = dict(exc.headers)
    if exc.retry_after_s is not None:
        headers |= retry_after_header(exc.retry_after_s)
    body = envelope(exc.code, exc.message, path)
    if not _speaks_protocol(path):  # ours carries the error's details beside it
        body = {**exc.details, **body}
    return OrjsonResponse(body, exc.status_code, headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors, FastAPI validation errors, routing errors and bugs to the envelope."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)


async def _service_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, ServiceError)
    if exc.status_code == 500:  # 503s are expected states (loading, draining) and stay quiet
        logger.warning("%s %s: %s", request.method, request.url.path, exc.message)
    return error_response(exc, request.url.path)


async def _validation_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_describe(error) for error in exc.errors()]
    message = "; ".join(problems) + " (see /docs for the request format)"
    return OrjsonResponse(envelope(InvalidRequest.code, message, request.url.path), 422)


def _describe(error: dict[str, object]) -> str:
    location = error.get("loc") or ()
    assert isinstance(location, tuple | list)
    kind, *path = [str(part) for part in location] or ["request"]
    where = f"{kind} parameter {'.'.join(path)!r}" if path else kind
    got = f" (got {echo(str(error['input']))})" if "input" in error and kind == "query" else ""
    return f"{where}: {error.get('msg')}{got}"


async def _http_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, StarletteHTTPException)
    # Starlette turns a MultiPartException into HTTPException(400) inside its `except` block
    # (starlette/requests.py), so the parser's error is the context of the one raised.
    if isinstance(exc.__context__, MultiPartException):
        problem = exc.__context__.message.rstrip(".")
        refused = InvalidMultipart(f"multipart/form-data body refused: {problem}")
        return error_response(refused, request.url.path)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    path = echo(request.url.path)
    if exc.status_code == 404:
        message = f"no route for {request.method} {path}; see /docs for the API"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {path}; see /docs for the API"
    else:
        message = str(exc.detail)
    body = envelope(code, message, request.url.path)
    return OrjsonResponse(body, exc.status_code, dict(exc.headers or {}))


async def _unhandled(request: Request, exc: Exception) -> OrjsonResponse:
    # Only real bugs get here; the client sees no detail, the log has the traceback. Starlette's
    # ServerErrorMiddleware re-raises afterwards so the server logs it too.
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    request_id = getattr(request.state, "request_id", None)
    headers = {"X-Request-ID": request_id} if request_id else {}
    message = "internal error; it has been logged"
    if request_id:
        message += f" with request id {request_id}"
    return OrjsonResponse(envelope("internal_error", message, request.url.path), 500, headers)
