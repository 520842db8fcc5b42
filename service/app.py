"""The FastAPI application: `create_app(settings)` wires settings, models, metrics and routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.staticfiles import StaticFiles

from service.errors import install_error_handlers
from service.metrics import Metrics
from service.middleware import BodyLimitMiddleware, RequestContextMiddleware
from service.openapi import install_openapi
from service.registry import ModelRegistry
from service.routes import demo, generate, models, operations, predict, sentiment
from service.settings import Settings

logger = logging.getLogger(__name__)

DESCRIPTION = """
Handwritten digits (MNIST) and movie-review sentiment (IMDB), trained with Keras, exported to ONNX
and served with onnxruntime. Requests to the same model are batched dynamically.
Every error has the shape `{"error": {"code": ..., "message": ...}}`.
"""


def create_app(settings: Settings) -> FastAPI:
    """Build the app; models load in its lifespan, not here."""
    metrics = Metrics()
    registry = ModelRegistry(settings, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        registry.discover()
        # Loading runs in the background so /healthz answers while a TensorRT engine builds
        # (minutes on first start); /readyz keeps traffic away until every model is warm.
        loading = asyncio.create_task(registry.load_all(), name="load-models")
        try:
            yield
        finally:
            registry.begin_drain()
            loading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loading
            await registry.close(settings.drain_timeout_s)

    app = FastAPI(
        title="Digits & sentiment serving",
        description=DESCRIPTION,
        version="1.0.0",
        lifespan=lifespan,
        middleware=[
            Middleware(RequestContextMiddleware, metrics=metrics),
            Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
        ],
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.registry = registry
    install_error_handlers(app)
    install_openapi(app)
    for router in (predict, sentiment, generate, models, operations, demo):
        app.include_router(router.router)
    # check_dir=False: the directory ships with the package; a missing file is a packaging bug that
    # the demo-page test catches, and must not stop the API from serving.
    app.mount("/static", StaticFiles(directory=demo.STATIC_DIR, check_dir=False), name="static")
    return app
