# ruff: noqa: N818 - errors are named for what happened, as in service/errors.py
"""The protocol's errors: a bad tensor is a 400, and every /v2 error leaves as `{"error": "..."}`.

The Open Inference Protocol fixes that shape (tritonclient raises its `error` text), so the /v2
routes render the same domain errors as the human routes in the protocol's envelope instead of
ours. `OipRoute` does it for the whole route, dependencies (the API key) included.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from service.errors import OIP_PREFIX, ServiceError, error_response
from service.responses import OrjsonResponse

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class InvalidTensor(ServiceError):
    """An inference request whose tensors do not fit the model: name, datatype, shape or data."""

    status_code = 400
    code = "invalid_tensor"


def protocol_error(exc: ServiceError) -> OrjsonResponse:
    """`{"error": "<message>"}` with the error's status, and `Retry-After` where it applies."""
    return error_response(exc, OIP_PREFIX)


class OipRoute(APIRoute):
    """A route answering errors in the protocol's shape, from its dependencies and handler alike."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except ServiceError as exc:
                return protocol_error(exc)
            except RequestValidationError as exc:
                problems = "; ".join(str(error.get("msg")) for error in exc.errors())
                return OrjsonResponse({"error": f"invalid request: {problems}"}, 400)

        return answer
