"""`python -m loadtest.locust`: a headless locust run, its reports and SLO checks (`make loadtest`).

Drives a running deployment (`--host URL`) or starts the service on a free loopback port
(`--start-server`), saves CSV + HTML reports, and exits 1 when an SLO is missed: any failed
request (a non-2xx or a malformed body), or a p95 over its `--p95-ms` threshold.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import orjson

from contract.repository import model_names
from loadtest import server
from loadtest.locust import slo

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
DEFAULT_P95_MS = "digit=50,sentiment=100,generate=300"
CSV_PREFIX = "locust"


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """Our options, and the rest for locust itself."""
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.locust", description=__doc__, epilog="Other options go to locust."
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--host", help="base URL of a running service, e.g. http://10.0.0.5:8000")
    target.add_argument("--start-server", action="store_true", help="serve --models on loopback")
    target.add_argument("--check-only", action="store_true", help="only check --reports' CSV")
    parser.add_argument("--models", type=Path, default=server.ROOT / "models", help="repository")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra SERVING_* setting for --start-server (repeatable)",
    )
    parser.add_argument("-u", "--users", type=int, default=20)
    parser.add_argument("-r", "--spawn-rate", type=float, default=None, help="default: --users")
    parser.add_argument("-t", "--run-time", default="60s")
    parser.add_argument("--processes", type=int, default=1, help="locust processes; -1 = cores")
    parser.add_argument("--reports", type=Path, default=server.ROOT / "reports" / "loadtest")
    parser.add_argument("--p95-ms", default=DEFAULT_P95_MS, help="per endpoint, KEY=MS,...")
    parser.add_argument("--max-error-ratio", type=float, default=0.0)
    parser.add_argument("--data-dir", default=None, help="folder with mnist.npz, imdb.jsonl.gz")
    args, extra = parser.parse_known_args(argv)
    args.p95_ms = slo.parse_thresholds(args.p95_ms)
    return args, extra


def locust_command(args: argparse.Namespace, host: str, extra: Sequence[str]) -> list[str]:
    """The headless locust command line writing CSV, HTML and correctness into `args.reports`."""
    reports: Path = args.reports
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "--host", host, "--users", str(args.users),
        "--spawn-rate", str(args.spawn_rate or args.users), "--run-time", args.run_time,
        "--csv", str(reports / CSV_PREFIX), "--html", str(reports / "report.html"),
        "--correctness-file", str(reports / "correctness.json"),
    ]  # fmt: skip
    if args.processes != 1:  # one process runs locally, with no master/worker split at all
        command += ["--processes", str(args.processes)]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    return command + list(extra)


@contextmanager
def target_host(args: argparse.Namespace) -> Iterator[str]:
    """The URL to load: `--host`, or a service started on loopback for the run's duration."""
    if not args.start_server:
        yield args.host.rstrip("/")
        return
    if not model_names(args.models):
        raise SystemExit(f"no models in {args.models}; run `make models` or pass --models DIR")
    port = server.free_port()
    settings = dict(item.split("=", 1) for item in args.server_env)
    env = server.service_env(args.models, port) | settings
    with server.running(server.SERVICE_COMMAND, port, args.reports / "server.log", env) as url:
        yield url


def verdict(args: argparse.Namespace) -> int:
    """Print the correctness tallies and every missed SLO; 0 when all were met."""
    stats_csv = args.reports / f"{CSV_PREFIX}_stats.csv"
    if not stats_csv.is_file():
        print(f"FAIL: {stats_csv} was not written; see locust's output above", file=sys.stderr)
        return 2
    correctness = args.reports / "correctness.json"
    if correctness.is_file():
        for name, row in orjson.loads(correctness.read_bytes()).items():
            print(f"correctness {name}: {row['accuracy']:.1%} of {row['total']} equal the label")
    missed = slo.breaches(slo.read_stats(stats_csv), args.p95_ms, args.max_error_ratio)
    for line in missed:
        print(f"SLO missed: {line}", file=sys.stderr)
    print(f"reports in {args.reports}: {'FAIL' if missed else 'PASS'}")
    return 1 if missed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run locust headless (unless --check-only) and check the SLOs."""
    args, extra = parse_args(argv)
    if not args.check_only:
        args.reports.mkdir(parents=True, exist_ok=True)
        with target_host(args) as host:
            # locust exits 1 on any failure; its CSV says which, and `verdict` explains it.
            subprocess.run(locust_command(args, host, extra), check=False)
    return verdict(args)
