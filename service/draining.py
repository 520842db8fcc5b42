"""The app's side of a graceful stop: count requests in flight, and refuse new ones when told.

`DrainingServer` (server.py) drives the phases; this module only keeps the state it reads and the
middleware that acts on it. Operations endpoints stay open throughout, so that probes and
Prometheus see the drain instead of a wall of 503s.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Receive, Scope, Send

from service.errors import ShuttingDown, error_response

# Probes and scrapes: answered until the process exits (/readyz itself reports the drain).
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
REFUSAL_RETRY_AFTER_S = 1.0


class DrainGate:
    """Requests in flight, and whether new ones are refused (the drain grace is over)."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.refusing = False
        self.deadline: float | None = None  # time.monotonic() by which the drain must end

    def refuse(self, deadline: float) -> None:
        """Refuse new requests from now on; in-flight ones have until `deadline` to finish."""
        self.refusing = True
        self.deadline = deadline

    def remaining_s(self, default: float) -> float:
        """Seconds left of the drain, or `default` when no drain is under way."""
        if self.deadline is None:
            return default
        return max(0.0, self.deadline - time.monotonic())


class DrainMiddleware:
    """Counts HTTP requests in flight; once refusing, answers new ones 503 with Retry-After."""

    def __init__(self, app: ASGIApp, gate: DrainGate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.gate.refusing and scope["path"] not in OPEN_PATHS:
            refusal = ShuttingDown(
                "the server is shutting down and takes no new requests; retry (another replica "
                "will answer)",
                retry_after_s=REFUSAL_RETRY_AFTER_S,
            )
            await error_response(refusal, scope["path"])(scope, receive, send)
            return
        self.gate.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.in_flight -= 1
