"""`python -m loadtest.soak --minutes 30`: a long steady load; does memory stay flat? (`make soak`)

Runs the mixed load of `locustfile.py` (real MNIST/IMDB payloads, every body checked) in-process
with locust as a library, against a service it starts on loopback (or `--host`). Per window
(a minute, shorter for short runs) it records requests, errors, p50/p99 and the server's RSS, then
reports the drift: p99 of the last window against the first, RSS at the end against the end of
the first window (after warm-up). Writes `soak.json` and `soak.md` into `--out` and exits 1 on any
failed request or an RSS growth of `--max-rss-growth` (10 %) or more.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import gevent
import numpy as np
import orjson
import psutil
from gevent import monkey

from export.repository import model_names

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
DEFAULT_OUT = ROOT / "reports" / "soak"
# Windows per run at least: a 12-second run still has a first and a last window to compare.
MIN_WINDOWS = 4


@dataclass(frozen=True)
class Window:
    """One stretch of the run."""

    index: int
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    rss_mb: float | None  # the server's RSS at the window's end


@dataclass
class Recorder:
    """Every request's latency and outcome, and the server's RSS over time."""

    started: float
    window_s: float
    pid: int | None
    latencies: dict[int, list[float]] = field(default_factory=dict)
    errors: dict[int, int] = field(default_factory=dict)
    error_kinds: Counter[str] = field(default_factory=Counter)
    rss: list[tuple[float, int]] = field(default_factory=list)

    def on_request(self, response_time: float, exception: Exception | None, **_: object) -> None:
        """locust's `request` event: one finished request."""
        index = int((time.monotonic() - self.started) // self.window_s)
        self.latencies.setdefault(index, []).append(response_time)
        if exception is not None:
            self.errors[index] = self.errors.get(index, 0) + 1
            self.error_kinds[str(exception)[:160]] += 1

    def sample(self) -> None:
        """The server's RSS now (its worker processes included)."""
        if self.pid is None:
            return
        try:
            root = psutil.Process(self.pid)
            total = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
        except psutil.Error:
            return
        self.rss.append((time.monotonic() - self.started, total))

    def sample_every(self, seconds: float) -> None:
        """Sample until killed (a greenlet)."""
        while True:
            self.sample()
            gevent.sleep(seconds)

    def windows(self, count: int) -> list[Window]:
        """Per-window figures for windows 0 … count-1."""
        return [self._window(index) for index in range(count)]

    def _window(self, index: int) -> Window:
        latencies = np.asarray(self.latencies.get(index, [0.0]))
        end = (index + 1) * self.window_s
        samples = [rss for at, rss in self.rss if at <= end + 0.5]
        return Window(
            index=index,
            requests=len(self.latencies.get(index, [])),
            errors=self.errors.get(index, 0),
            rps=round(len(self.latencies.get(index, [])) / self.window_s, 1),
            p50_ms=round(float(np.percentile(latencies, 50)), 1),
            p99_ms=round(float(np.percentile(latencies, 99)), 1),
            rss_mb=round(samples[-1] / MB, 1) if samples else None,
        )


@dataclass(frozen=True)
class SoakReport:
    """The run's figures and verdict."""

    started_at: str
    minutes: float
    users: int
    host: str
    requests: int
    errors: int
    error_kinds: dict[str, int]
    window_s: float
    windows: list[Window]
    p99_first_ms: float
    p99_last_ms: float
    p99_drift: float  # last / first - 1
    rss_first_mb: float | None  # at the end of the first window
    rss_end_mb: float | None
    rss_growth: float | None  # end / first - 1
    max_rss_growth: float
    failures: list[str]

    @property
    def passed(self) -> bool:
        """No failed request and RSS growth under the limit."""
        return not self.failures


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to run (0.2 = 12 s)")
    parser.add_argument("--host", help="base URL of a running service (default: start one)")
    parser.add_argument("--pid", type=int, help="server process to watch with --host")
    parser.add_argument("--models", type=Path, default=ROOT / "models", help="repository")
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="KEY=VALUE",
        help="extra SERVING_* setting for the started service (repeatable)",
    )  # fmt: skip
    parser.add_argument("-u", "--users", type=int, default=8)
    parser.add_argument("--wait-ms", default="20,200", help="think time per user: MIN,MAX ms")
    parser.add_argument("--window-s", type=float, default=60.0, help="at most this long each")
    parser.add_argument("--sample-s", type=float, default=5.0, help="RSS sampling period")
    parser.add_argument("--max-rss-growth", type=float, default=0.10)
    parser.add_argument("--data-dir", default=None, help="folder with mnist.npz, imdb.jsonl.gz")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


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
    """Run `locustfile.ServiceUser` for `--minutes`, recording every request and the RSS."""
    # Imported here: importing locust patches the standard library for gevent, which a test that
    # imports this module for its report logic must not get.
    from locust import argument_parser, events
    from locust.env import Environment

    from loadtest.locustfile import ServiceUser

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


def summarise(recorder: Recorder, args: argparse.Namespace, url: str) -> SoakReport:
    """The report of a finished run."""
    count = max(1, round(args.minutes * 60 / recorder.window_s))
    windows = recorder.windows(count)
    first, last = windows[0], windows[-1]
    rss_first, rss_end = first.rss_mb, (recorder.rss[-1][1] / MB if recorder.rss else None)
    growth = rss_end / rss_first - 1 if rss_first and rss_end else None
    requests = sum(len(values) for values in recorder.latencies.values())
    errors = sum(recorder.errors.values())
    failures = []
    if requests == 0:
        failures.append("no request was made; see the locust log above")
    if errors:
        failures.append(f"{errors} of {requests} requests failed")
    if growth is not None and growth >= args.max_rss_growth:
        failures.append(f"RSS grew {growth:.1%} (limit {args.max_rss_growth:.0%})")
    return SoakReport(
        started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        minutes=args.minutes,
        users=args.users,
        host=url,
        requests=requests,
        errors=errors,
        error_kinds=dict(recorder.error_kinds.most_common(10)),
        window_s=round(recorder.window_s, 1),
        windows=windows,
        p99_first_ms=first.p99_ms,
        p99_last_ms=last.p99_ms,
        p99_drift=round(last.p99_ms / first.p99_ms - 1, 3) if first.p99_ms else 0.0,
        rss_first_mb=rss_first,
        rss_end_mb=round(rss_end, 1) if rss_end else None,
        rss_growth=round(growth, 4) if growth is not None else None,
        max_rss_growth=args.max_rss_growth,
        failures=failures,
    )


def markdown(report: SoakReport) -> str:
    """The report as a section for docs/reliability.md."""
    rss = "not measured (pass --pid with --host)"
    if report.rss_growth is not None:
        rss = f"{report.rss_first_mb} → {report.rss_end_mb} MB ({report.rss_growth:+.1%})"
    verdict = "PASS" if report.passed else "FAIL: " + "; ".join(report.failures)
    lines = [
        f"### Soak: {report.minutes:g} min, {report.users} users ({report.started_at})",
        "",
        f"- requests: {report.requests} ({report.requests / (report.minutes * 60):.1f}/s), "
        f"errors: {report.errors}",
        f"- p99 first → last window: {report.p99_first_ms} → {report.p99_last_ms} ms "
        f"({report.p99_drift:+.1%})",
        f"- server RSS, end of first window → end: {rss}",
        f"- verdict: {verdict}",
        "",
        f"| window ({report.window_s:g} s) | requests | errors | req/s | p50 ms | p99 ms "
        "| RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {w.index + 1} | {w.requests} | {w.errors} | {w.rps} | {w.p50_ms} | {w.p99_ms} | "
        f"{w.rss_mb if w.rss_mb is not None else '–'} |"
        for w in report.windows
    ]
    lines += [f"- error: {kind} (×{n})" for kind, n in report.error_kinds.items()]
    return "\n".join(lines) + "\n"


def write(report: SoakReport, out: Path) -> None:
    """soak.json and soak.md in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    data = asdict(report) | {"passed": report.passed}
    (out / "soak.json").write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    (out / "soak.md").write_text(markdown(report))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak; 0 when it passed."""
    # locust runs on gevent: patch the standard library before any socket or SSL context exists.
    # (Importing locust does this too, but this module stays importable without it, for tests.)
    monkey.patch_all()
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with target(args) as (url, pid):
        print(f"soak: {args.minutes:g} min against {url} (server pid {pid})", flush=True)
        recorder = run_load(url, pid, args)
    report = summarise(recorder, args, url)
    write(report, args.out)
    print(markdown(report))
    print(f"report in {args.out}: {'PASS' if report.passed else 'FAIL'}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
