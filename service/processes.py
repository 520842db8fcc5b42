"""`python -m service`: one server process, or `SERVING_WORKERS` of them under a small supervisor.

Each worker is a complete single-process server (its own app, sessions, batchers and drain on
SIGTERM) listening on its own socket bound with SO_REUSEPORT, so the kernel spreads new connections
evenly over the workers. (With one shared socket, whichever worker wakes first accepts a whole
burst of connections, and keep-alive clients then stay unevenly spread for as long as they live.)
The supervisor forwards SIGTERM and SIGINT to every worker, replaces a worker that dies, and exits
once all have drained: 0 when each one stopped cleanly.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

from fastapi import FastAPI

from service.app import create_app
from service.logs import configure_logging
from service.metrics import MULTIPROCESS_DIR
from service.server import run_server
from service.settings import Settings

logger = logging.getLogger(__name__)

AppFactory = Callable[[Settings], FastAPI]
# A worker exits with this when it could not start (port taken, app broken): restarting it would
# fail the same way, so the supervisor stops instead (uvicorn uses the same code).
STARTUP_FAILURE = 3
POLL_S = 0.2


def serve(settings: Settings, app_factory: AppFactory = create_app) -> int:
    """Serve until stopped; the exit status."""
    configure_logging(settings.log_level, settings.log_format)
    if settings.workers == 1:
        return 0 if run_server(settings, app_factory(settings)) else STARTUP_FAILURE
    if settings.port == 0:
        logger.error("SERVING_WORKERS > 1 needs a fixed SERVING_PORT: workers share it")
        return STARTUP_FAILURE
    with shared_metrics_dir():
        return Supervisor(settings, app_factory).run()


class Supervisor:
    """Start the workers, forward stop signals to them, replace those that die."""

    def __init__(self, settings: Settings, app_factory: AppFactory) -> None:
        self.settings = settings
        self.app_factory = app_factory
        self.workers: list[BaseProcess] = []
        self.signals: list[int] = []
        self.failed = False

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._record_signal)
        self.workers = [self._start() for _ in range(self.settings.workers)]
        logger.info(
            "supervisor %d started %d workers: %s",
            os.getpid(),
            len(self.workers),
            ", ".join(str(worker.pid) for worker in self.workers),
        )
        stopping = False
        while any(worker.is_alive() for worker in self.workers):
            while self.signals:
                stopping = True
                self._forward(self.signals.pop(0))
            if not stopping:
                stopping = self._replace_dead()
            time.sleep(POLL_S)
        codes = [worker.exitcode for worker in self.workers]
        logger.info("supervisor %d: workers exited with %s", os.getpid(), codes)
        return 1 if self.failed or any(code != 0 for code in codes) else 0

    def _start(self) -> BaseProcess:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked threads
        worker = context.Process(
            target=_worker,
            args=(self.settings, self.app_factory, os.getpid()),
            name="serving-worker",
        )
        worker.start()
        return worker

    def _record_signal(self, sig: int, frame: FrameType | None) -> None:
        self.signals.append(sig)  # a signal handler only records; the loop acts on it

    def _forward(self, sig: int) -> None:
        logger.info("supervisor: %s to every worker", signal.Signals(sig).name)
        for worker in self.workers:
            if worker.is_alive() and worker.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, sig)

    def _replace_dead(self) -> bool:
        """Restart workers that died; True when one could not start, which stops everything."""
        for index, worker in enumerate(self.workers):
            if worker.is_alive():
                continue
            if worker.exitcode == STARTUP_FAILURE:
                logger.error("worker %d could not start; stopping every worker", worker.pid)
                self.failed = True
                self._forward(signal.SIGTERM)
                return True
            logger.error("worker %d died (exit %s); starting another", worker.pid, worker.exitcode)
            self.workers[index] = self._start()
        return False


def _worker(settings: Settings, app_factory: AppFactory, supervisor_pid: int) -> None:
    """A worker process: bind the shared port, serve until drained."""
    # Signals come from the supervisor only: a terminal's Ctrl-C or a `kill` of the process group
    # would otherwise arrive twice, and a second signal means "stop at once".
    os.setpgrp()
    configure_logging(settings.log_level, settings.log_format)
    try:
        listener = reuse_port_socket(settings.host, settings.port)
    except OSError as exc:
        logger.error("cannot listen on %s:%d: %s", settings.host, settings.port, exc)
        sys.exit(STARTUP_FAILURE)
    started = run_server(settings, app_factory(settings), [listener], supervisor_pid)
    sys.exit(0 if started else STARTUP_FAILURE)


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port with SO_REUSEPORT, so that every worker can bind it."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind(address)
    return listener


@contextlib.contextmanager
def shared_metrics_dir() -> Iterator[Path]:
    """A folder for the workers' metrics, in the environment they inherit, emptied on exit.

    An operator's PROMETHEUS_MULTIPROC_DIR is used (and cleared of a previous run's files) but kept.
    """
    given = os.environ.get(MULTIPROCESS_DIR)
    folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="serving-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROCESS_DIR] = str(folder)
    try:
        yield folder
    finally:
        if given:
            for written in folder.glob("*.db"):
                written.unlink()
        else:
            shutil.rmtree(folder, ignore_errors=True)
            del os.environ[MULTIPROCESS_DIR]


def main() -> None:
    """`python -m service`."""
    sys.exit(serve(Settings()))
