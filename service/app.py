"""The FastAPI application: `create_app(settings)` wires settings, models, metrics and routes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI
from fastapi.params import Depends as DependsParam
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.staticfiles import StaticFiles

from service.allocator import return_large_buffers
from service.auth import require_admin_token, require_api_key
from service.decoding import ImageDecoder
from service.draining import DrainGate, DrainMiddleware
from service.errors import install_error_handlers
from service.fast_routes import install_fast_routes
from service.metrics import Metrics
from service.middleware import BodyLimit, BodyLimitMiddleware, RequestContextMiddleware
from service.oip import routes as oip
from service.openapi import install_openapi
from service.registry import ModelRegistry
from service.reloading import poll
from service.routes import admin, demo, generate, models, operations, predict, sentiment
from service.settings import Settings

logger = logging.getLogger(__name__)

CORS_REQUEST_HEADERS = (
    "Content-Type",
    "Authorization",
    "X-API-Key",
    "X-Admin-Token",
    "X-Request-ID",
)

DESCRIPTION = """
Handwritten digits (MNIST) and movie-review sentiment (IMDB), trained with Keras, exported to ONNX
and served with onnxruntime. Requests to the same model are batched dynamically.
Every error has the shape `{"error": {"code": ..., "message": ...}}`.
"""


def create_app(settings: Settings) -> FastAPI:
    """Build the app; models load in its lifespan, not here."""
    metrics = Metrics()
    registry = ModelRegistry(settings, metrics)
    decoder = ImageDecoder(
        settings.decode_threads, settings.max_request_image_pixels, settings.inline_decode_pixels
    )
    gate = DrainGate()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        return_large_buffers()
        registry.discover()
        # One process loads in the background, so /healthz answers while a TensorRT engine builds
        # (minutes on first start) and /readyz keeps traffic away until every model is warm. A
        # worker among several loads first: uvicorn listens only after this, so the kernel hands
        # connections to workers that can serve them, never to one still loading (whose 503s,
        # /readyz included, the other workers' readiness would not excuse).
        loading = asyncio.create_task(_load_then_freeze(registry), name="load-models")
        if settings.workers > 1:
            await loading
        tasks = [loading]
        if settings.reload_interval_s > 0:
            polling = poll(registry, settings.reload_interval_s)
            tasks.append(asyncio.create_task(polling, name="poll-models"))
        try:
            yield
        finally:
            registry.begin_drain()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await registry.close(gate.remaining_s(settings.drain_timeout_s))
            decoder.close()

    app = FastAPI(
        title="Digits & sentiment serving",
        description=DESCRIPTION,
        version="1.0.0",
        lifespan=lifespan,
        middleware=_middleware(settings, metrics, gate),
        # Our observability is Prometheus (/metrics) and access logs. FastAPI's own OpenTelemetry
        # hook otherwise asks three OTel providers on every request whether it is wanted: 3 % of
        # a no-op request's CPU.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.registry = registry
    app.state.decoder = decoder
    app.state.drain_gate = gate
    install_error_handlers(app)
    install_openapi(app)
    _include_routers(app, settings)
    install_fast_routes(app, settings)
    # check_dir=False: the directory ships with the package; a missing file is a packaging bug that
    # the demo-page test catches, and must not stop the API from serving.
    app.mount("/static", StaticFiles(directory=demo.STATIC_DIR, check_dir=False), name="static")
    return app


async def _load_then_freeze(registry: ModelRegistry) -> None:
    """Load every model, then exempt what start-up allocated from garbage collection.

    The ~70 000 objects of the loaded app (sessions' metadata, pydantic models, routes) would
    otherwise be traversed by every full collection: a 14 ms pause that hit one request in a
    hundred and set the p99 (27 ms against a 5 ms p50 at 16 connections, one worker).
    """
    await registry.load_all()
    gc.collect()
    gc.freeze()


def _middleware(settings: Settings, metrics: Metrics, gate: DrainGate) -> list[Middleware]:
    """Outermost first: every answer, refusals included, gets a request id and CORS headers."""
    digit, text = settings.max_digit_body_bytes, settings.max_sentiment_body_bytes
    limits = {
        "/predict/digit": BodyLimit(digit, "SERVING_MAX_DIGIT_BODY_BYTES"),
        "/sentiment": BodyLimit(text, "SERVING_MAX_SENTIMENT_BODY_BYTES"),
    }
    default = BodyLimit(settings.max_body_bytes, "SERVING_MAX_BODY_BYTES")
    cors: list[Middleware] = []
    if settings.cors_origins:
        cors = [
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=[*CORS_REQUEST_HEADERS],
                expose_headers=["X-Request-ID", "X-Seed", "Retry-After"],
                max_age=600,
            )
        ]
    return [
        Middleware(RequestContextMiddleware, metrics=metrics),
        *cors,
        Middleware(DrainMiddleware, gate=gate),
        Middleware(
            BodyLimitMiddleware, default=default, limits=limits, timeout_s=settings.body_timeout_s
        ),
    ]


def _include_routers(app: FastAPI, settings: Settings) -> None:
    """Inference needs an API key when keys are configured; /admin exists only with a token."""
    keyed: list[DependsParam] = [Depends(require_api_key)] if settings.api_keys else []
    for router in (predict, sentiment, generate):
        app.include_router(router.router, dependencies=keyed)
    app.include_router(oip.router, dependencies=keyed)
    for router in (models, operations, demo):
        app.include_router(router.router)
    app.include_router(oip.health_router)  # probes, like /healthz and /readyz, need no key
    if settings.admin_token is not None:
        app.include_router(admin.router, dependencies=[*keyed, Depends(require_admin_token)])
