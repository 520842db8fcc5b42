"""`python -m loadtest.profile` (`make profile`): where one worker's CPU goes under bench load.

For each bench target the service runs as one worker with the bench's production settings and
wrk drives it at 32 connections, as `make bench` does. py-spy samples the worker twice while the
load runs: once as collapsed stacks, summed here into the parts of a request (HTTP, middleware,
parsing, batching, onnxruntime, the answer, logs), once as a flame graph for docs/profiles/.
The no-op route on the same app is profiled first, as the baseline a request's own work adds to.
The summary lands in docs/profiles/summary.json, from which the bench page says where each
request's core-µs go.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import orjson
import psutil

from loadtest import server
from loadtest.bench import wrk
from loadtest.bench.drivers import Measurement, Target
from loadtest.bench.servers import CPU_PRESET
from loadtest.bench.targets import BODY_SAMPLES, write_targets
from loadtest.payloads import data_dir, load_digits, load_reviews
from loadtest.profile_stacks import Breakdown, breakdown

TARGETS = ("noop", "digit-pixels", "digit-png", "sentiment")
# The no-op is the service's own app plus POST /noop (loadtest/bench/noop_app.py): beside it, a
# digit's profile shows where the µs beyond the HTTP stack go.
COMMANDS = {"noop": (sys.executable, "-m", "loadtest.bench.noop_app")}
SAMPLING_RATE_HZ = 250


def worker_pid(port: int) -> int:
    """The process listening on `port` (one worker: the service itself)."""
    for connection in psutil.net_connections("tcp"):
        listening = connection.status == "LISTEN" and connection.pid is not None
        if listening and connection.laddr and connection.laddr.port == port:
            return int(connection.pid)
    raise RuntimeError(f"nothing listens on port {port}")


def record(pid: int, seconds: float, output: Path, form: str) -> None:
    """py-spy's samples of `pid` for `seconds`, as `form` ("raw" stacks or "flamegraph")."""
    command = [
        *(
            str(Path(sysconfig.get_paths()["scripts"]) / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(round(seconds)),
        ),
        *("--rate", str(SAMPLING_RATE_HZ), "--format", form, "--output", str(output)),
        "--nonblocking",  # sample without pausing the worker: its figures stay its own
    ]
    subprocess.run(command, check=True, capture_output=True)


def under_load(
    url: str, target: Target, args: argparse.Namespace, work: Path
) -> tuple[Measurement, float]:
    """wrk at `args.connections` for the two recording windows, in a thread; with the worker's
    CPU seconds over the same time."""
    measured: list[Measurement] = []
    seconds = 2 * args.seconds + 2  # both windows, and py-spy's start-up
    load = threading.Thread(
        target=lambda: measured.append(
            wrk.measure(url, target, args.connections, seconds, script_dir=work, threads=1)
        )
    )
    worker = psutil.Process(worker_pid(int(url.rsplit(":", 1)[1])))
    before = worker.cpu_times()
    load.start()
    record(worker.pid, args.seconds, work / f"{target.name}.txt", "raw")
    record(worker.pid, args.seconds, args.out / f"{target.name}.svg", "flamegraph")
    load.join()
    after = worker.cpu_times()
    return measured[0], (after.user + after.system) - (before.user + before.system)


def profile_target(
    name: str, targets: dict[str, Target], args: argparse.Namespace, work: Path
) -> dict[str, object]:
    """One target's load figures and its breakdown."""
    port = server.free_port()
    env = server.service_env(args.models, port, **(CPU_PRESET | {"workers": 1}))
    command = COMMANDS.get(name, server.SERVICE_COMMAND)
    with server.running(command, port, work / f"{name}.log", env) as url:
        wrk.measure(url, targets[name], 8, 1.0, script_dir=work, threads=1)  # warm up
        measured, cpu_s = under_load(url, targets[name], args, work)
    parts: Breakdown = breakdown((work / f"{name}.txt").read_text())
    core_us = cpu_s * 1e6 / max(measured.ok, 1)
    print(f"{name}: {measured.throughput:,.0f} req/s, {core_us:.0f} core-µs each", flush=True)
    for part, share in parts.items():
        print(f"  {part:<26} {share:6.1%} {share * core_us:6.0f} µs", flush=True)
    return {"throughput": measured.throughput, "core_us_per_request": core_us, "parts": parts}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The profiler's options."""
    parser = argparse.ArgumentParser(prog="python -m loadtest.profile", description=__doc__)
    parser.add_argument("--models", type=Path, default=server.ROOT / "models")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--seconds", type=float, default=8.0, help="per recording window")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--out", type=Path, default=server.ROOT / "docs" / "profiles")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Profile each target; write the flame graphs and summary.json into --out."""
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    folder = data_dir(args.data_dir)
    with tempfile.TemporaryDirectory(prefix="profile-") as tmp:
        work = Path(tmp)
        # Read and rendered once (a user-style PNG costs ~1 ms each), shared by every target.
        targets = write_targets(
            work, load_digits(folder, BODY_SAMPLES), load_reviews(folder, BODY_SAMPLES)
        )
        names = args.targets.split(",")
        summary = {name: profile_target(name, targets, args, work) for name in names}
    (args.out / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    print(f"wrote {args.out}/summary.json and a flame graph per target", flush=True)


if __name__ == "__main__":
    main()
