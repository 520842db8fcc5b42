"""The HTTP ceiling: the service's own app (middleware, models, settings) plus a no-op POST route.

`python -m loadtest.noop_app` serves it exactly as `python -m service` serves the service (same
SERVING_* settings, same uvicorn options), so /noop measures what the stack costs per request
before any parsing or inference: the most /predict/digit could ever reach on this machine.
"""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI, Request

from service.app import create_app
from service.logs import configure_logging
from service.responses import OrjsonResponse
from service.server import shared_metrics_dir
from service.settings import Settings

NOOP_PATH = "/noop"


def create_noop_app(settings: Settings) -> FastAPI:
    """`create_app(settings)` with POST /noop, which reads the body and answers a tiny JSON."""
    app = create_app(settings)

    async def noop(request: Request) -> OrjsonResponse:
        # Read the body like /predict/digit does, so both pay the same transfer cost.
        return OrjsonResponse({"received": len(await request.body())})

    app.add_api_route(NOOP_PATH, noop, methods=["POST"], include_in_schema=False)
    return app


def app_from_env() -> FastAPI:
    """App factory for uvicorn worker processes: settings from the environment."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_noop_app(settings)


def main() -> None:
    """Serve with the uvicorn options of `service.server.serve` (which takes no other app)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": round(settings.drain_timeout_s),
    }
    if settings.workers > 1:
        with shared_metrics_dir():  # as the service does: workers write metrics to shared files
            uvicorn.run(
                "loadtest.noop_app:app_from_env", factory=True, workers=settings.workers, **options
            )
    else:
        uvicorn.run(create_noop_app(settings), **options)


if __name__ == "__main__":
    main()
