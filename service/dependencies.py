"""Shared objects for routes, declared once as `Annotated[..., Depends(...)]` aliases.

The dependencies are `async def` although they never await: FastAPI runs a plain `def` dependency
in a worker thread, a thread hop per dependency per request for a dictionary lookup.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from service.catalog import CONDITIONAL, DIGITS, GENERATION, SENTIMENT, Endpoint
from service.metrics import Metrics
from service.registry import ModelRegistry, ServedModel
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


def _model_query(endpoint: Endpoint) -> object:
    return Query(
        description=f"one of {endpoint.choices()} (or the full model name); "
        f"default {endpoint.default}",
        examples=[endpoint.default],
    )


def _resolve(
    request: Request, registry: ModelRegistry, endpoint: Endpoint, model: str | None
) -> ServedModel:
    served = registry.resolve(endpoint, model)
    request.state.model = served.name  # the `model` label of the request metrics
    return served


async def digit_model(
    request: Request,
    registry: RegistryDep,
    model: Annotated[str | None, _model_query(DIGITS)] = None,
) -> ServedModel:
    return _resolve(request, registry, DIGITS, model)


async def sentiment_model(
    request: Request,
    registry: RegistryDep,
    model: Annotated[str | None, _model_query(SENTIMENT)] = None,
) -> ServedModel:
    return _resolve(request, registry, SENTIMENT, model)


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
        str | None,
        Query(
            description="dcgan or conditional; default conditional when digit= is given, else dcgan"
        ),
    ] = None,
) -> ServedModel:
    if model is None and digit is not None:
        model = CONDITIONAL
    return _resolve(request, registry, GENERATION, model)


DigitModelDep = Annotated[ServedModel, Depends(digit_model)]
SentimentModelDep = Annotated[ServedModel, Depends(sentiment_model)]
GeneratorModelDep = Annotated[ServedModel, Depends(generator_model)]
