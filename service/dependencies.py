"""What routes share: settings, registry and metrics, and the model version serving a request.

The inference routes resolve their model with `serving(...)` in the handler rather than through
FastAPI dependencies. Dependency solving is the costliest step of FastAPI's request path: the
chain request → registry → model version, a yield dependency and a settings lookup cost about
60 µs per request, measured in-process, against 25 µs to run the CNN. Only the `?model=` query
parameter stays declared, so the OpenAPI schema still documents it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Query, Request

from service.catalog import CONDITIONAL, DIGITS, GENERATION, SENTIMENT, Endpoint
from service.metrics import Metrics
from service.registry import ModelRegistry, ModelVersion
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


@contextmanager
def serving(request: Request, endpoint: Endpoint, model: str | None) -> Iterator[ModelVersion]:
    """The version serving `endpoint?model=`, admitted and held until the answer is built.

    Admission comes before the handler reads the body, so under overload a 429 costs no parsing.
    Holding the version means a hot reload swaps versions under the request without failing it
    or mixing two versions in one answer.
    """
    registry: ModelRegistry = request.app.state.registry
    version = registry.resolve(endpoint, model)
    request.state.model = version.name  # the `model` label of the request metrics
    with version.batcher.admission(), version.pinned():
        yield version
