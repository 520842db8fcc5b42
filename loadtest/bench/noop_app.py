"""The HTTP ceiling: the service's own app (middleware, models, settings) plus a no-op POST route.

`python -m loadtest.bench.noop_app` serves it exactly as `python -m service` serves the service
(same SERVING_* settings, worker processes and uvicorn options), so /noop measures what the stack
costs per request before any parsing or inference: the most /predict/digit could ever reach here.
"""

from __future__ import annotations

import sys

from fastapi import FastAPI, Request

from service.app import create_app
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

    app.add_api_route(NOOP_PATH, noop, methods=["POST"], include_in_schema=False)
    # First in the routing table, where /predict/digit is: FastAPI matches routes in order, and
    # a no-op matched last would pay for walking past every other route (a fifth of its cost).
    app.router.routes.insert(0, app.router.routes.pop())
    return app


def main() -> None:
    """Serve exactly as `python -m service` does: same processes, sockets and uvicorn options."""
    sys.exit(serve(Settings(), create_noop_app))


if __name__ == "__main__":
    main()
