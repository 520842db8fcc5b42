"""The soak's load: the service to load and watch, and locust run in this process as a library."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import gevent
import psutil

from contract.repository import model_names
from loadtest.soak.recorder import Recorder

# Windows per run at least: a 12-second run still has a first and a last window to compare.
MIN_WINDOWS = 4


@contextmanager
def target(args: argparse.Namespace) -> Iterator[tuple[str, int | None]]:
    """The URL to load and the PID to watch: `--host`, or a service started for the run."""
    from loadtest import server  # imports httpx and ssl: only after main() has patched them

    if args.host:
        url = args.host.rstrip("/")
        yield url, args.pid or _listening_pid(url)
        return
    if not model_names(args.models):
        raise SystemExit(f"no models in {args.models}; run `make models` or pass --models DIR")
    port = server.free_port()
    env = server.service_env(args.models, port) | dict(
        item.split("=", 1) for item in args.server_env
    )
    log = args.out / "server.log"
    with server.running(server.SERVICE_COMMAND, port, log, env) as url:
        yield url, _listening_pid(url)


def _listening_pid(url: str) -> int | None:
    """The local process listening on the URL's port, if there is one."""
    port = urlsplit(url).port
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
            pid: int | None = connection.pid
            return pid
    return None


def run_load(url: str, pid: int | None, args: argparse.Namespace) -> Recorder:
    """Run the locust `ServiceUser` for `--minutes`, recording every request and the RSS."""
    # Imported here, once main() has patched the standard library for gevent: importing locust
    # patches it too, which merely importing this package (as the tests do) must not.
    from locust import argument_parser, events
    from locust.env import Environment

    from loadtest.locust.locustfile import ServiceUser

    duration_s = args.minutes * 60
    window_s = min(args.window_s, duration_s / MIN_WINDOWS)
    # locust's own parser, so the locustfile's options (--data-dir, --wait-ms) get its defaults.
    options = ["--wait-ms", args.wait_ms] + (["--data-dir", args.data_dir] if args.data_dir else [])
    parsed = argument_parser.get_parser(default_config_files=[]).parse_args(options)
    environment = Environment(
        user_classes=[ServiceUser], events=events, host=url, parsed_options=parsed
    )
    runner = environment.create_local_runner()
    events.init.fire(environment=environment, runner=runner, web_ui=None)
    recorder = Recorder(time.monotonic(), window_s, pid)
    events.request.add_listener(recorder.on_request)
    sampler = gevent.spawn(recorder.sample_every, min(args.sample_s, window_s / 2))
    runner.start(args.users, spawn_rate=args.users)
    gevent.sleep(duration_s)
    runner.quit()
    sampler.kill()
    recorder.sample()
    return recorder
