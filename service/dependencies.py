"""What routes declare: settings, registry and metrics dependencies, and the `?model=` parameters.

The inference routes declare only their `?model=` parameter (so OpenAPI documents it) and resolve
the model with `service.admission.admitted_version` in the handler; see there for why.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from service.catalog import CONDITIONAL, DIGITS, GENERATION, SENTIMENT, Endpoint
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


def _model_query(endpoint: Endpoint, default: str | None = None) -> object:
    # The enum is documentation only (the value stays a str): an unknown name gets our 404 that
    # lists the choices, not a generic 422.
    return Query(
        description=f"one of {endpoint.choices()} (or the full model name); "
        f"default {default or endpoint.default}",
        examples=[endpoint.default],
        json_schema_extra={"enum": [*endpoint.aliases, *endpoint.aliases.values()]},
    )


DigitModelName = Annotated[str | None, _model_query(DIGITS)]
SentimentModelName = Annotated[str | None, _model_query(SENTIMENT)]
GeneratorModelName = Annotated[
    str | None, _model_query(GENERATION, "conditional when digit= is given, else dcgan")
]


def generator_for(model: str | None, digit: int | None) -> str | None:
    """`?model=` of /generate: a requested digit needs the conditional generator by default."""
    return CONDITIONAL if model is None and digit is not None else model
