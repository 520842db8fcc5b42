"""The HTTP ceiling: the service's own app (middleware, models, settings) plus a no-op POST route.

`python -m loadtest.bench.noop_app` serves it exactly as `python -m service` serves the service
(same SERVING_* settings, worker processes and uvicorn options), so /noop measures what the stack
costs per request before any parsing or inference: the most /predict/digit could ever reach here.
"""

from __future__ import annotations

import sys

from fastapi import FastAPI, Request

from service.app import create_app
from service.fast_routes import LabelledRoute
from service.processes import serve
from service.responses import OrjsonResponse
from service.settings import Settings

NOOP_PATH = "/noop"


def create_noop_app(settings: Settings) -> FastAPI:
    """`create_app(settings)` with POST /noop, which reads the body and answers a tiny JSON."""
    app = create_app(settings)

    async def noop(request: Request) -> OrjsonResponse:
        # Read the body like /predict/digit does, so both pay the same transfer cost.
        return OrjsonResponse({"received": len(await request.body())})

    # Routed as /predict/digit is (service/fast_routes.py): a Starlette route, first in the
    # table. A FastAPI route would cost the no-op ~80 µs that /predict/digit does not pay.
    app.router.routes.insert(0, LabelledRoute(NOOP_PATH, noop, methods=["POST"]))
    return app


def main() -> None:
    """Serve exactly as `python -m service` does: same processes, sockets and uvicorn options."""
    sys.exit(serve(Settings(), create_noop_app))


if __name__ == "__main__":
    main()
