"""Servers under test as subprocesses on a free loopback port: start, wait until ready, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
# A TensorRT engine build on first start takes minutes; CPU loading takes seconds.
STARTUP_TIMEOUT_S = 240.0
STOP_TIMEOUT_S = 20.0
SERVICE_COMMAND = (sys.executable, "-m", "service")


class ServerStartError(RuntimeError):
    """The server exited or never became ready; the message carries its log's tail."""


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(repository: Path, port: int, **settings: object) -> dict[str, str]:
    """Environment for `python -m service` on loopback; `settings` become SERVING_* variables."""
    values = {"model_repository": repository.resolve(), "host": "127.0.0.1", "port": port}
    values |= {"drain_grace_s": 0} | settings  # nobody polls /readyz here: stop at once
    return {f"SERVING_{key.upper()}": str(value) for key, value in values.items()}


@contextmanager
def running(
    command: Sequence[str],
    port: int,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/readyz",
    timeout_s: float = STARTUP_TIMEOUT_S,
) -> Iterator[str]:
    """Run `command` (listening on `port`) until the block ends; yields its base URL once ready."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command),
            cwd=ROOT,
            env=os.environ | dict(env or {}),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so stopping it reaches uvicorn's worker processes too
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(process, url + ready_path, log_path, timeout_s)
            yield url
        finally:
            _stop(process)


def _wait_ready(
    process: subprocess.Popen[bytes], url: str, log_path: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"server exited with {process.returncode}: {_tail(log_path)}")
        try:
            status = httpx.get(url, timeout=2.0).status_code
        except httpx.TransportError:
            status = None  # not listening yet
        if status == 200:
            return
        if status == 500:  # 503 means loading; 500 means the app itself is broken
            raise ServerStartError(f"{url} answered 500: {_tail(log_path)}")
        time.sleep(0.2)
    raise ServerStartError(f"{url} not ready after {timeout_s:g} s: {_tail(log_path)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _tail(path: Path, chars: int = 2000) -> str:
    return path.read_text(errors="replace")[-chars:]
