"""Shared objects for routes, declared once as `Annotated[..., Depends(...)]` aliases.

The dependencies are `async def` although they never await: FastAPI runs a plain `def` dependency
in a worker thread, a thread hop per dependency per request for a dictionary lookup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request

from service.catalog import CONDITIONAL, DIGITS, GENERATION, SENTIMENT, Endpoint
from service.metrics import Metrics
from service.registry import ModelRegistry, ModelVersion
from service.settings import Settings


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


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


def _resolve(
    request: Request, registry: ModelRegistry, endpoint: Endpoint, model: str | None
) -> ModelVersion:
    version = registry.resolve(endpoint, model)
    request.state.model = version.name  # the `model` label of the request metrics
    return version


# The model dependencies yield: the request holds its version until it has answered, so a hot
# reload swaps versions under it without failing it or mixing two versions in one answer.
async def digit_model(
    request: Request,
    registry: RegistryDep,
    model: Annotated[str | None, _model_query(DIGITS)] = None,
) -> AsyncIterator[ModelVersion]:
    with _resolve(request, registry, DIGITS, model).pinned() as version:
        yield version


async def sentiment_model(
    request: Request,
    registry: RegistryDep,
    model: Annotated[str | None, _model_query(SENTIMENT)] = None,
) -> AsyncIterator[ModelVersion]:
    with _resolve(request, registry, SENTIMENT, model).pinned() as version:
        yield version


async def requested_digit(
    digit: Annotated[
        int | None, Query(ge=0, le=9, description="draw this digit (conditional)")
    ] = None,
) -> int | None:
    return digit


DigitParam = Annotated[int | None, Depends(requested_digit)]


async def generator_model(
    request: Request,
    registry: RegistryDep,
    digit: DigitParam,
    model: Annotated[
        str | None, _model_query(GENERATION, "conditional when digit= is given, else dcgan")
    ] = None,
) -> AsyncIterator[ModelVersion]:
    if model is None and digit is not None:
        model = CONDITIONAL
    with _resolve(request, registry, GENERATION, model).pinned() as version:
        yield version


DigitModelDep = Annotated[ModelVersion, Depends(digit_model)]
SentimentModelDep = Annotated[ModelVersion, Depends(sentiment_model)]
GeneratorModelDep = Annotated[ModelVersion, Depends(generator_model)]
