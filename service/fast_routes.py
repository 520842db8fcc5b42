"""The inference routes once more, as plain Starlette routes matched before FastAPI's.

/predict/digit, /sentiment and /v2's infer read their parameters and parse their bodies
themselves (`inputs.py`, `oip/codec.py`). FastAPI's per-request machinery around them (the
included router's lookup, dependency solving, two AsyncExitStacks) then buys nothing and costs
CPU, measured interleaved in one process: ~80 µs of a ~780 µs pixel request, ~300 µs of a
~1,000 µs /v2 infer. Here the same work runs in Starlette routes, ahead of FastAPI's in the
routing table, with the same middleware, exception handlers and `scope["route"].path` for the
metrics label. FastAPI's routes stay behind them and document them in OpenAPI.

With SERVING_API_KEYS set, nothing is added: the key check is a FastAPI dependency of the
inference routers, and one implementation of it is worth more than 80 µs.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.routing import Match, Route
from starlette.types import Scope

from service.oip.routes import infer_in_protocol_shape
from service.routes import predict, sentiment
from service.settings import Settings

HANDLERS = {
    "/predict/digit": predict.predict_digit,
    "/sentiment": sentiment.sentiment,
    "/v2/models/{name}/infer": infer_in_protocol_shape,
    "/v2/models/{name}/versions/{version}/infer": infer_in_protocol_shape,
}


class LabelledRoute(Route):
    """A Starlette route that names itself in `scope["route"]`, as FastAPI's own routes do.

    FastAPI's router sets it only for those; the request metrics take their `endpoint` label from
    it (`RequestContextMiddleware`).
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


def install_fast_routes(app: FastAPI, settings: Settings) -> None:
    """Put the Starlette copies of the inference routes first, unless API keys are on."""
    if settings.api_keys:
        return
    for path, handler in HANDLERS.items():
        app.router.routes.insert(0, LabelledRoute(path, handler, methods=["POST"]))
