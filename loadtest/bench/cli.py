"""`python -m loadtest.bench` (`make bench`): the service against its ceilings and the Keras way.

In one run on one machine: raw onnxruntime throughput per model (the compute ceiling), then each
server on loopback driven in a closed loop at several concurrencies: a no-op route on the
service's own app and settings (the HTTP ceiling), the service with production settings, the
service with batching off (one row per session.run), and the tutorials' per-request Keras
server; then an overload run. Writes results.json, docs/benchmarks.md and its plot from the
measurements.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from loadtest import server
from loadtest.bench import page, results
from loadtest.bench.runner import SECTIONS, run


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The bench's options."""
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench", description=__doc__)
    parser.add_argument("--models", type=Path, default=server.ROOT / "models")
    parser.add_argument("--artifacts", type=Path, default=server.ROOT / "artifacts")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--concurrency", default="1,8,32,64", help="connections, comma-separated")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before each target")
    parser.add_argument("--ceiling-seconds", type=float, default=0.5, help="per model and batch")
    parser.add_argument("--overload-seconds", type=float, default=8.0)
    parser.add_argument(
        "--pair-rounds",
        type=int,
        default=3,
        help="rounds of defaults and minimal, in turns; each point keeps its best",
    )
    parser.add_argument("--overload-concurrency", type=int, default=0, help="0: 2× what fits")
    add_server_options(parser)
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections to run")
    parser.add_argument("--reports", type=Path, default=server.ROOT / "reports" / "bench")
    parser.add_argument("--doc", type=Path, default=server.ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-doc", action="store_true", help="leave docs/ alone")
    parser.add_argument(
        "--profile-summary",
        type=Path,
        default=server.ROOT / "docs" / "profiles" / "summary.json",
        help="`make profile`'s breakdown, shown on the page when present",
    )
    parser.add_argument(
        "--servers-summary",
        type=Path,
        default=server.ROOT / "docs" / "asgi-servers.json",
        help="`python -m loadtest.asgi_servers`' table, shown on the page when present",
    )
    parser.add_argument(
        "--decoders-summary",
        type=Path,
        default=server.ROOT / "docs" / "decoders.json",
        help="`python -m loadtest.decoders`' table, shown on the page when present",
    )
    parser.add_argument("--from-results", type=Path, help="re-render from a results.json")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    args.levels = [int(c) for c in args.concurrency.split(",")]
    args.only = set(args.only.split(","))
    if unknown := args.only - set(SECTIONS):
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    return args


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """How the servers run, and the load driver that measures them."""
    parser.add_argument("--preset", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="cpu preset")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a SERVING_* setting of every service run (repeatable)",
    )
    parser.add_argument("--driver", choices=("auto", "wrk", "locust"), default="auto")
    parser.add_argument("--driver-threads", type=int, default=max(1, (os.cpu_count() or 1) // 4))


def main(argv: Sequence[str] | None = None) -> int:
    """Measure (or re-render), print the tables, write results.json and the page."""
    args = parse_args(argv)
    measured = results.load(args.from_results) if args.from_results else run(args)
    args.reports.mkdir(parents=True, exist_ok=True)
    if not args.from_results:
        results.save(measured, args.reports / "results.json")
    checks = page.write(measured, args.reports, None if args.no_doc else args.doc)
    missed = [check for check in checks if check.passed is False]
    return 1 if args.strict and missed else 0
