"""`python -m loadtest.asgi_servers`: our app under uvicorn (as `python -m service` runs it) and
under granian, measured side by side with wrk.

Servers: `uvicorn` is `python -m service` (our supervisor, DrainingServer); `granian` is granian's
own CLI and worker management (`--interface asgi`) on the same app and settings; `granian-embed`
is granian's HTTP inside processes of ours (loadtest/asgi_servers_embed.py), the shape adopting it
while keeping our supervisor and drain would have. One server at a time on loopback, each with
the bench's CPU settings and the same worker count; the servers take turns, in reverse order
every other round (A B, B A, ...), so that a noisy neighbour on a shared machine hurts all alike.
Compare each server's ratio to uvicorn on the same endpoint and workers, more than its req/s.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import orjson

from loadtest import server
from loadtest.bench import wrk
from loadtest.bench.drivers import Measurement, Target
from loadtest.bench.servers import CPU_PRESET
from loadtest.bench.targets import BODY_SAMPLES, write_targets
from loadtest.payloads import data_dir, load_digits
from service.metrics import MULTIPROCESS_DIR

SERVERS = ("uvicorn", "granian", "granian-embed")
ENDPOINTS = ("healthz", "digit-pixels", "digit-png")
GRANIAN_APP = "loadtest.asgi_servers_app:app"
READY_LINE = "models ready:"  # service/registry.py logs it once per worker, when all are warm


@dataclass(frozen=True)
class Contender:
    """One server program with a worker count."""

    server: str
    workers: int

    def command(self, port: int) -> tuple[str, ...]:
        """How to start it listening on loopback `port`."""
        if self.server == "uvicorn":
            return server.SERVICE_COMMAND  # our supervisor and DrainingServer, as deployed
        if self.server == "granian-embed":
            return (sys.executable, "-m", "loadtest.asgi_servers_embed")
        return (
            sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(self.workers),
            "--log-level", str(CPU_PRESET["log_level"]), GRANIAN_APP,
        )  # fmt: skip

    def env(self, models: Path, port: int, metrics_dir: Path) -> dict[str, str]:
        """The same SERVING_* settings for every server; granian's workers share metrics as ours."""
        settings = server.service_env(models, port, **CPU_PRESET, workers=self.workers)
        if self.server == "granian" and self.workers > 1:
            # What our supervisor does for its workers, so that both pay the multiprocess cost.
            settings[MULTIPROCESS_DIR] = str(metrics_dir)
        return settings


@dataclass(frozen=True)
class Sample:
    """One round's measurement of one contender on one endpoint."""

    contender: Contender
    measurement: Measurement


def targets(folder: Path, data: Path) -> dict[str, Target]:
    """GET /healthz and the bench's two digit targets (pixel JSON and PNG bodies)."""
    digits = load_digits(data, BODY_SAMPLES)
    bench = write_targets(folder, digits, [])
    healthz = Target("healthz", "GET", "/healthz")
    return {"healthz": healthz} | {name: bench[name] for name in ENDPOINTS if name in bench}


def measure(
    contender: Contender, endpoints: dict[str, Target], args: argparse.Namespace, work: Path
) -> list[Sample]:
    """Start `contender`, warm up and measure each endpoint, stop it."""
    port = server.free_port()
    metrics_dir = Path(tempfile.mkdtemp(prefix="asgi-metrics-", dir=work))
    log = work / f"{contender.server}-{contender.workers}.log"
    samples = []
    command, env = contender.command(port), contender.env(args.models, port, metrics_dir)
    with server.running(command, port, log, env) as url:
        wait_for_workers(log, contender.workers)
        for target in endpoints.values():
            drive(url, target, args.connections, args.warmup, work, args.threads)
            measured = drive(url, target, args.connections, args.seconds, work, args.threads)
            samples.append(Sample(contender, measured))
            print(progress(samples[-1]), flush=True)
    shutil.rmtree(metrics_dir, ignore_errors=True)
    return samples


def wait_for_workers(log: Path, workers: int, timeout_s: float = server.STARTUP_TIMEOUT_S) -> None:
    """Wait until every worker has logged its models ready, not just the first to answer /readyz.

    A worker still loading does not listen yet: every connection of the next wrk run would go to
    the ready ones, and wrk keeps its connections, so a 2-worker server would be measured as one.
    """
    deadline = time.monotonic() + timeout_s
    while log.read_text(errors="replace").count(READY_LINE) < workers:
        if time.monotonic() > deadline:
            raise server.ServerStartError(f"fewer than {workers} workers ready in {log}")
        time.sleep(0.2)


def drive(
    url: str, target: Target, connections: int, seconds: float, work: Path, threads: int
) -> Measurement:
    """One wrk run, as the bench drives it."""
    return wrk.measure(url, target, connections, seconds, script_dir=work, threads=threads)


def progress(sample: Sample) -> str:
    """One line per measurement while the run goes on."""
    m, c = sample.measurement, sample.contender
    return (
        f"  {c.server:13} ×{c.workers} {m.target:13} {m.throughput:8.0f} req/s  "
        f"p50 {m.p50_ms:6.2f} ms  p99 {m.p99_ms:6.2f} ms  errors {m.errors}"
    )


def contenders(args: argparse.Namespace, round_index: int) -> list[Contender]:
    """Every server at every worker count, in the order of one round (reversed every other)."""
    servers = args.servers if round_index % 2 == 0 else args.servers[::-1]
    return [Contender(name, n) for n in args.workers for name in servers]


def run(args: argparse.Namespace) -> list[Sample]:
    """Every round: each contender started, measured and stopped in turn."""
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory(prefix="asgi-servers-") as tmp:
        work = Path(tmp)
        endpoints = targets(work, data_dir(args.data_dir))
        for round_index in range(args.rounds):
            print(f"round {round_index + 1} of {args.rounds}", flush=True)
            for contender in contenders(args, round_index):
                samples += measure(contender, endpoints, args, work)
    return samples


@dataclass(frozen=True)
class Row:
    """One contender on one endpoint, over every round."""

    contender: Contender
    endpoint: str
    throughputs: tuple[float, ...]  # req/s, one per round
    p50_ms: float  # the median of the rounds' p50s
    p99_ms: float  # the median of the rounds' p99s
    errors: int  # summed over the rounds

    @property
    def throughput(self) -> float:
        """Mean req/s over the rounds."""
        return statistics.fmean(self.throughputs)


def rows(samples: list[Sample]) -> list[Row]:
    """The samples grouped by contender and endpoint, in the order first measured."""
    groups: dict[tuple[Contender, str], list[Measurement]] = {}
    for sample in samples:
        groups.setdefault((sample.contender, sample.measurement.target), []).append(
            sample.measurement
        )
    return [
        Row(
            contender,
            endpoint,
            tuple(m.throughput for m in found),
            statistics.median(m.p50_ms for m in found),
            statistics.median(m.p99_ms for m in found),
            sum(m.errors for m in found),
        )
        for (contender, endpoint), found in groups.items()
    ]


def ratio(row: Row, every: list[Row]) -> str:
    """`row`'s req/s over uvicorn's (same workers, same endpoint): the median of per-round ratios.

    Each round's servers ran minutes apart at most, so pairing them by round cancels most of a
    shared machine's drift; the median keeps one disturbed round from deciding.
    """
    baseline = (replace(row.contender, server="uvicorn"), row.endpoint)
    base = next((r for r in every if (r.contender, r.endpoint) == baseline), None)
    if base is None or not all(base.throughputs):
        return "n/a"
    pairs = zip(row.throughputs, base.throughputs, strict=False)
    return f"{statistics.median(mine / theirs for mine, theirs in pairs):.2f}×"


def table(every: list[Row]) -> str:
    """The markdown comparison table, by worker count, endpoint, then server."""
    ordered = sorted(
        every,
        key=lambda r: (
            r.contender.workers,
            ENDPOINTS.index(r.endpoint),
            SERVERS.index(r.contender.server),
        ),
    )
    lines = [
        "| server | workers | endpoint | req/s | rounds | p50 ms | p99 ms | errors | × uvicorn |",
        "| --- | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in ordered:
        rounds = " / ".join(f"{t:,.0f}" for t in row.throughputs)
        lines.append(
            f"| {row.contender.server} | {row.contender.workers} | {row.endpoint} | "
            f"{row.throughput:,.0f} | {rounds} | {row.p50_ms:.2f} | {row.p99_ms:.2f} | "
            f"{row.errors} | {ratio(row, every)} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The comparison's options."""
    parser = argparse.ArgumentParser(prog="python -m loadtest.asgi_servers", description=__doc__)
    parser.add_argument("--models", type=Path, default=server.ROOT / "models")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated")
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before each one")
    parser.add_argument("--rounds", type=int, default=3, help="turns each server takes")
    parser.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 1) // 4))
    parser.add_argument(
        "--summary",
        type=Path,
        default=server.ROOT / "docs" / "asgi-servers.json",
        help="where the table goes for `make bench` to show on docs/benchmarks.md",
    )
    args = parser.parse_args(argv)
    args.servers = args.servers.split(",")
    args.workers = [int(n) for n in args.workers.split(",")]
    if unknown := set(args.servers) - set(SERVERS):
        parser.error(f"unknown servers {sorted(unknown)}; choose from {', '.join(SERVERS)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every contender and print the comparison; 1 when a tool is missing."""
    args = parse_args(argv)
    if missing := missing_tools(args.servers):
        print(f"missing: {', '.join(missing)}; install them first", file=sys.stderr)
        return 1
    shown = sys.argv[1:] if argv is None else list(argv)
    command = f"python -m loadtest.asgi_servers {shlex.join(shown)}".rstrip()
    print(command, flush=True)
    before = os.getloadavg()
    markdown = table(rows(run(args)))
    load = f"load average before {_load(before)}, after {_load(os.getloadavg())}"
    print(f"\n{markdown}\n\n{load} ({os.cpu_count()} CPUs)")
    summary = {"command": command, "measured_at": time.time(), "load": load, "table": markdown}
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    args.summary.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    return 0


def missing_tools(servers: list[str]) -> list[str]:
    """The tools the selected servers need that are not installed."""
    needed = {"wrk": wrk.available()}
    if any(name.startswith("granian") for name in servers):
        needed["granian"] = importlib.util.find_spec("granian") is not None
    return [tool for tool, found in needed.items() if not found]


def _load(averages: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in averages)


if __name__ == "__main__":
    sys.exit(main())
