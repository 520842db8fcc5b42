"""deploy/docker/healthcheck.py: the image's HEALTHCHECK, run against a stand-in server."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from loadtest.server import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "docker" / "healthcheck.py"


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    """An HTTP server on a free loopback port whose /healthz answers `_Health.status`."""
    handler = type("Handler", (_Health,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def probe(port: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SERVING_PORT": str(port)}
    command = [sys.executable, "-I", str(SCRIPT)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=30, check=False)


def test_healthy_server_passes(server: ThreadingHTTPServer) -> None:
    result = probe(server.server_address[1])
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("status", [500, 503])
def test_error_status_fails(server: ThreadingHTTPServer, status: int) -> None:
    server.RequestHandlerClass.status = status  # type: ignore[attr-defined]
    result = probe(server.server_address[1])
    assert result.returncode == 1
    assert f"HTTP Error {status}" in result.stderr, result.stderr


def test_nothing_listening_fails_with_the_url() -> None:
    port = free_port()
    result = probe(port)
    assert result.returncode == 1
    assert f"http://127.0.0.1:{port}/healthz" in result.stderr, result.stderr
