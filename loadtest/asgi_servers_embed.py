"""`python -m loadtest.asgi_servers_embed`: our app on granian's embedded server, one process per
worker, for the server comparison.

This is the shape adopting granian inside our own process model would have: each worker a process
of ours with granian's HTTP in it (its own SO_REUSEPORT listener, as granian binds on Linux), our
signal handling and our drain phases, the workers' metrics in one shared folder. A prototype to
measure, not to deploy: it neither restarts workers nor notices a vanished parent, which
service/processes.py does.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import sys
import time

import uvloop
from fastapi import FastAPI
from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server.embed import Server

from service.app import create_app
from service.logs import configure_logging
from service.processes import shared_metrics_dir
from service.settings import Settings

logger = logging.getLogger(__name__)


async def drain(app: FastAPI, settings: Settings, server: Server) -> None:
    """Our phases after SIGTERM: /readyz 503 for the grace, then refuse new requests, wait for
    those in flight, and only then stop granian (which would otherwise close its listener at once).
    """
    app.state.registry.begin_drain()
    await asyncio.sleep(settings.drain_grace_s)
    deadline = time.monotonic() + settings.drain_timeout_s
    gate = app.state.drain_gate
    gate.refuse(deadline)
    while gate.in_flight and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    logger.info("drained: %d requests in flight; stopping", gate.in_flight)
    server.stop()  # type: ignore[no-untyped-call]  # granian types its CLI, not its embed API


async def serve(settings: Settings) -> None:
    """One worker: the app on granian's embedded server until drained."""
    app = create_app(settings)
    server = Server(
        app,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        log_level=LogLevels(settings.log_level),
        websockets=False,
    )
    # Only now: granian's logging set-up (logging.config.dictConfig) closes the handlers it finds.
    configure_logging(settings.log_level, settings.log_format)
    loop = asyncio.get_running_loop()
    tasks: list[asyncio.Task[None]] = []
    loop.add_signal_handler(
        signal.SIGTERM, lambda: tasks.append(loop.create_task(drain(app, settings, server)))
    )
    await server.serve()


def worker(settings: Settings) -> None:
    """A worker process's entry point, on uvloop as granian's own workers are."""
    uvloop.run(serve(settings))


def main() -> None:
    """Start SERVING_WORKERS workers; each drains on the SIGTERM its process group gets."""
    settings = Settings()
    if settings.workers == 1:
        worker(settings)
        return
    configure_logging(settings.log_level, settings.log_format)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the workers drain; this one waits for them
    with shared_metrics_dir():
        context = multiprocessing.get_context("spawn")
        workers = [
            context.Process(target=worker, args=(settings,)) for _ in range(settings.workers)
        ]
        for process in workers:
            process.start()
        for process in workers:
            process.join()
    sys.exit(max(process.exitcode or 0 for process in workers))


if __name__ == "__main__":
    main()
