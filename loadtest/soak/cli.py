"""`python -m loadtest.soak --minutes 30`: a long steady load; does memory stay flat? (`make soak`)

Runs the mixed load of `loadtest/locust/locustfile.py` (real MNIST/IMDB payloads, every body
checked) in-process with locust as a library, against a service it starts on loopback (or
`--host`). Per window (a minute, shorter for short runs) it records requests, errors, p50/p99 and
the server's RSS, then reports the drift: p99 of the last window against the first, RSS at the
end against the end of the first window (after warm-up). Writes `soak.json` and `soak.md` into
`--out` and exits 1 on any failed request or an RSS growth of `--max-rss-growth` (10 %) or more.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from gevent import monkey

from loadtest.soak.load import run_load, target
from loadtest.soak.summary import markdown, summarise, write

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "reports" / "soak"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.soak", description=__doc__.split("\n")[0]
    )
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
    summary = summarise(recorder, args, url)
    write(summary, args.out)
    print(markdown(summary))
    print(f"summary in {args.out}: {'PASS' if summary.passed else 'FAIL'}")
    return 0 if summary.passed else 1
