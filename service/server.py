"""Running the app under uvicorn, with a drain period on SIGTERM (`python -m service`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from service.app import create_app
from service.logs import configure_logging
from service.settings import Settings

logger = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    """On the first SIGTERM/SIGINT, report not ready for `grace_s` while still serving, then stop.

    Load balancers poll /readyz, so they stop routing here before connections are refused;
    uvicorn then finishes in-flight requests (`timeout_graceful_shutdown`). A second signal stops
    at once.
    """

    def __init__(
        self, config: uvicorn.Config, *, on_drain: Callable[[], None], grace_s: float
    ) -> None:
        super().__init__(config)
        self.on_drain = on_drain
        self.grace_s = grace_s
        self.drain_until: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain_until is None and self.grace_s > 0 and not self.should_exit:
            # Only flags here: this runs in a signal handler, where logging could deadlock.
            self.drain_until = time.monotonic() + self.grace_s
            self.on_drain()
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self.drain_until is not None and not self.should_exit:
            if counter % 10 == 0:
                logger.info("draining: /readyz reports 503 until shutdown")
            self.should_exit = time.monotonic() >= self.drain_until
        return await super().on_tick(counter)


def app_from_env() -> FastAPI:
    """App factory for uvicorn worker processes (`workers > 1`): settings from the environment."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)


def serve(settings: Settings) -> None:
    """Serve until stopped."""
    configure_logging(settings.log_level, settings.log_format)
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,  # keep our handlers; the access log line comes from our middleware
        "access_log": False,
        "timeout_graceful_shutdown": round(settings.drain_timeout_s),
    }
    if settings.workers > 1:
        # Each worker process builds its own app and sessions from SERVING_* variables; the drain
        # period needs a single process (scale GPU serving by replicas rather than workers).
        uvicorn.run("service.server:app_from_env", factory=True, workers=settings.workers, **common)
        return
    app = create_app(settings)
    server = DrainingServer(
        uvicorn.Config(app, **common),
        on_drain=app.state.registry.begin_drain,
        grace_s=settings.drain_grace_s,
    )
    server.run()


def main() -> None:
    """`python -m service`."""
    serve(Settings())
