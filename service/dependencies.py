"""What routes declare: settings, registry and metrics dependencies, and the `?model=` parameters.

The inference routes resolve the model with `service.admission.admitted_version` in the handler;
see there for why. /predict/digit and /sentiment also read `?model=` themselves and document it
with `model_parameter`: FastAPI's solving of that one optional string cost ~35 µs of CPU a request
(of ~780 for a pixel request, measured interleaved in one process), and they run as plain
Starlette routes anyway (`fast_routes.py`). /generate keeps FastAPI's parameters, whose range
checks and 422s it needs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from service.catalog import CONDITIONAL, GENERATION, Endpoint
from service.metrics import Metrics
from service.registry import ModelRegistry
from service.settings import Settings


def settings_of(request: Request) -> Settings:
    """The app's settings, for handlers that take no dependencies."""
    return request.app.state.settings  # type: ignore[no-any-return]


# `async def` although they never await: FastAPI runs a plain `def` dependency in a worker
# thread, a thread hop per dependency per request for an attribute lookup.
async def get_settings(request: Request) -> Settings:
    return settings_of(request)


async def get_registry(request: Request) -> ModelRegistry:
    return request.app.state.registry  # type: ignore[no-any-return]


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


def _model_description(endpoint: Endpoint, default: str | None = None) -> str:
    default = default or endpoint.default
    return f"one of {endpoint.choices()} (or the full model name); default {default}"


def _model_names(endpoint: Endpoint) -> list[str]:
    # Documentation only (the value stays a str): an unknown name gets our 404 that lists the
    # choices, not a generic 422.
    return [*endpoint.aliases, *endpoint.aliases.values()]


def _model_query(endpoint: Endpoint, default: str | None = None) -> object:
    return Query(
        description=_model_description(endpoint, default),
        examples=[endpoint.default],
        json_schema_extra={"enum": _model_names(endpoint)},
    )


GeneratorModelName = Annotated[
    str | None, _model_query(GENERATION, "conditional when digit= is given, else dcgan")
]


def requested_model(request: Request) -> str | None:
    """`?model=` as sent (the last one if repeated, as FastAPI reads it), None when absent."""
    return request.query_params.get("model")


def model_parameter(endpoint: Endpoint) -> dict[str, object]:
    """The OpenAPI `?model=` parameter of a route that reads it with `requested_model`."""
    return {
        "name": "model",
        "in": "query",
        "required": False,
        "description": _model_description(endpoint),
        "schema": {"type": "string", "enum": _model_names(endpoint)},
        "example": endpoint.default,
    }


def generator_for(model: str | None, digit: int | None) -> str | None:
    """`?model=` of /generate: a requested digit needs the conditional generator by default."""
    return CONDITIONAL if model is None and digit is not None else model
