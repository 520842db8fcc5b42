"""One server process: the app under uvicorn, with a drain period on SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from types import FrameType

import uvicorn
from fastapi import FastAPI

from service.draining import DrainGate
from service.settings import Settings

logger = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    """Stop in phases on the first SIGTERM, so that no admitted request is lost.

    1. Grace (`grace_s`): /readyz says 503 and everything is still served, so load balancers stop
       routing here before anything is refused.
    2. Drain (at most `timeout_s`): new requests get 503 + Retry-After (`DrainGate`); in-flight
       and queued ones finish.
    3. Exit: once nothing is in flight (or the drain timed out), uvicorn closes the listeners and
       the lifespan stops the batchers; the process exits 0.

    SIGINT (Ctrl-C) skips the grace: nobody routes traffic to a developer's terminal. A second
    signal stops at once.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        gate: DrainGate,
        on_drain: Callable[[], None],
        grace_s: float,
        timeout_s: float,
        supervisor_pid: int | None = None,
    ) -> None:
        super().__init__(config)
        self.gate = gate
        self.on_drain = on_drain
        self.grace_s = grace_s
        self.timeout_s = timeout_s
        self.supervisor_pid = supervisor_pid
        self.drain_started: float | None = None
        self.refuse_at: float | None = None
        self._announced = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain_started is None and not self.should_exit:
            # Only flags here: this runs in a signal handler, where logging could deadlock. Not
            # passing the signal on to uvicorn also keeps it from re-raising it at exit (exit 0).
            self.drain_started = time.monotonic()
            self.refuse_at = self.drain_started + (0 if sig == signal.SIGINT else self.grace_s)
            self.on_drain()
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self.supervisor_pid is not None and os.getppid() != self.supervisor_pid:
            self.handle_exit(signal.SIGTERM, None)  # orphaned: drain as if told to stop
            self.supervisor_pid = None
        if self.refuse_at is not None and not self.should_exit:
            self.should_exit = self._drained(time.monotonic())
        return await super().on_tick(counter)

    def _drained(self, now: float) -> bool:
        """Advance the drain; True once the server may stop."""
        assert self.refuse_at is not None
        if not self._announced:
            self._announced = True
            logger.info(
                "draining: /readyz reports 503; serving on for %.1f s",
                max(0.0, self.refuse_at - now),
            )
        if now < self.refuse_at:
            return False
        if not self.gate.refusing:
            self.gate.refuse(self.refuse_at + self.timeout_s)
            logger.info(
                "draining: refusing new requests; %d in flight get up to %g s",
                self.gate.in_flight,
                self.timeout_s,
            )
        if self.gate.in_flight == 0:
            logger.info("drained: no request in flight; stopping")
            return True
        if now >= self.refuse_at + self.timeout_s:
            logger.error(
                "drain timeout (%g s): stopping with %d requests in flight",
                self.timeout_s,
                self.gate.in_flight,
            )
            self.config.timeout_graceful_shutdown = 0  # the budget is spent: cancel, do not wait
            return True
        return False


def run_server(
    settings: Settings,
    app: FastAPI,
    sockets: list[socket.socket] | None = None,
    supervisor_pid: int | None = None,
) -> bool:
    """Serve `app` in this process until it has drained; False if it never started serving.

    Binds `settings.host:port` itself unless given `sockets`. `supervisor_pid`: the process that
    started this one as a worker; should it vanish, this one drains and exits rather than linger.
    """
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep our handlers; the access log line comes from our middleware
        access_log=False,
        timeout_graceful_shutdown=round(settings.drain_timeout_s),
    )
    server = DrainingServer(
        config,
        gate=app.state.drain_gate,
        on_drain=app.state.registry.begin_drain,
        grace_s=settings.drain_grace_s,
        timeout_s=settings.drain_timeout_s,
        supervisor_pid=supervisor_pid,
    )
    server.run(sockets=sockets)
    return server.started
