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
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import onnxruntime as ort

from export.repository import model_names, read_metadata, version_dir, versions
from loadtest import bench_doc, bench_report, ceiling, locust_driver, machine, server, wrk
from loadtest.drivers import Measurement, Target
from loadtest.payloads import data_dir, load_digits, load_reviews
from loadtest.targets import BODY_SAMPLES, write_targets
from service.providers import choose_providers
from service.settings import Settings

SECTIONS = ("ceiling", "noop", "service", "unbatched", "keras", "overload")
# The CPU overlay of deploy/k8s: one server process per core, one onnxruntime thread each.
CPU_PRESET = {"providers": "cpu", "intra_op_threads": 1, "log_level": "info", "log_format": "json"}
GPU_PRESET = {"workers": 1, "log_level": "info", "log_format": "json"}
Driver = Callable[[str, Target, int, float], Measurement]


@dataclass(frozen=True)
class ServerSpec:
    """A server to start and the targets to drive against it."""

    name: str
    command: tuple[str, ...]
    env: dict[str, str]
    targets: tuple[str, ...]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The bench's options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=Path, default=server.ROOT / "models")
    parser.add_argument("--artifacts", type=Path, default=server.ROOT / "artifacts")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--concurrency", default="1,8,32,64", help="connections, comma-separated")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before each target")
    parser.add_argument("--ceiling-seconds", type=float, default=0.5, help="per model and batch")
    parser.add_argument("--overload-seconds", type=float, default=8.0)
    parser.add_argument("--overload-concurrency", type=int, default=0, help="0: 2× what fits")
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
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections to run")
    parser.add_argument("--reports", type=Path, default=server.ROOT / "reports" / "bench")
    parser.add_argument("--doc", type=Path, default=server.ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-doc", action="store_true", help="leave docs/ alone")
    parser.add_argument("--from-results", type=Path, help="re-render from a results.json")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    args.levels = [int(c) for c in args.concurrency.split(",")]
    args.only = set(args.only.split(","))
    if unknown := args.only - set(SECTIONS):
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    return args


def choose_driver(args: argparse.Namespace, work: Path) -> tuple[str, Driver]:
    """wrk (installed with apt-get when missing and we are root), else locust."""
    if args.driver != "locust" and not wrk.available() and os.geteuid() == 0:
        print("wrk is missing; installing it with apt-get", flush=True)
        install = "apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk)"
        subprocess.run(install, shell=True, check=False)
    if args.driver == "wrk" or (args.driver == "auto" and wrk.available()):
        return "wrk", partial(wrk.measure, script_dir=work, threads=args.driver_threads)
    print("wrk unavailable: driving with locust, which saturates sooner", flush=True)
    return "locust", partial(locust_driver.measure, work_dir=work, processes=args.driver_threads)


def service_settings(args: argparse.Namespace, **extra: object) -> dict[str, object]:
    """Production settings of the preset, then --server-env, then `extra`."""
    preset = CPU_PRESET | {"workers": args.workers} if args.preset == "cpu" else GPU_PRESET
    overrides = dict(item.split("=", 1) for item in args.server_env)
    return (
        dict(preset) | {k.lower().removeprefix("serving_"): v for k, v in overrides.items()} | extra
    )


def server_specs(args: argparse.Namespace, port: int) -> list[ServerSpec]:
    """The servers of the selected sections, in the order they run."""

    def env(**extra: object) -> dict[str, str]:
        return server.service_env(args.models, port, **service_settings(args, **extra))

    specs = [
        ServerSpec("noop", (sys.executable, "-m", "loadtest.noop_app"), env(), ("noop",)),
        ServerSpec("service", server.SERVICE_COMMAND, env(),
                   ("digit-pixels", "digit-png", "sentiment", "generate")),
        ServerSpec("unbatched", server.SERVICE_COMMAND, env(max_batch_rows=1),
                   ("digit-pixels", "sentiment")),
        ServerSpec("keras", (sys.executable, "-m", "loadtest.baselines.keras_server",
                             "--artifacts", str(args.artifacts), "--port", str(port)),
                   {"TF_CPP_MIN_LOG_LEVEL": "3"}, ("digit-pixels", "sentiment")),
    ]  # fmt: skip
    return [spec for spec in specs if spec.name in args.only]


def drive(
    spec: ServerSpec,
    targets: dict[str, Target],
    driver: Driver,
    args: argparse.Namespace,
    port: int,
    log: Path,
) -> list[Measurement]:
    """Start one server, measure each of its targets at each concurrency, stop it."""
    results = []
    with server.running(spec.command, port, log, spec.env) as url:
        for name in spec.targets:
            driver(url, targets[name], 8, args.warmup)  # warm caches, connections, JIT paths
            for level in args.levels:
                measured = replace(
                    driver(url, targets[name], level, args.duration), server=spec.name
                )
                print(bench_report.progress_line(measured), flush=True)
                results.append(measured)
        if spec.name == "service" and "overload" in args.only:
            level = overload_level(args)
            print(f"overload: {level} connections for {args.overload_seconds:g} s", flush=True)
            measured = driver(url, targets["digit-pixels"], level, args.overload_seconds)
            results.append(replace(measured, server="overload"))
            print(bench_report.progress_line(results[-1]), flush=True)
    return results


def estimate_s(args: argparse.Namespace, specs: list[ServerSpec]) -> float:
    """Seconds the measurements take, not counting server start-up."""
    targets = sum(len(spec.targets) for spec in specs)
    seconds = targets * (args.warmup + len(args.levels) * args.duration)
    if "overload" in args.only:
        seconds += args.overload_seconds
    if "ceiling" in args.only:
        seconds += 8 * len(ceiling.BATCH_SIZES) * (args.ceiling_seconds + 0.1)
    return float(seconds)


def overload_level(args: argparse.Namespace) -> int:
    """Twice the requests the service can hold before it sheds: every worker's queue + batch."""
    if args.overload_concurrency:
        return int(args.overload_concurrency)
    settings = Settings.model_validate(service_settings(args))  # what the service will read
    folder = version_dir(args.models, "digits-cnn", versions(args.models, "digits-cnn")[-1])
    batch = read_metadata(folder).batching.max_batch_size
    return 2 * settings.workers * (settings.queue_capacity + batch)


def run(args: argparse.Namespace) -> dict[str, object]:
    """Every selected section; the results as a JSON-ready dict."""
    if not model_names(args.models):
        raise SystemExit(f"no models in {args.models}; run `make models` or pass --models DIR")
    if "keras" in args.only and not (args.artifacts / "digits-cnn" / "model.keras").is_file():
        print(f"no Keras artifacts in {args.artifacts}: skipping the Keras baseline", flush=True)
        args.only.discard("keras")
    started, load_before = time.time(), os.getloadavg()
    folder = data_dir(args.data_dir)
    digits, reviews = load_digits(folder, BODY_SAMPLES), load_reviews(folder, BODY_SAMPLES)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        targets = write_targets(work, digits, reviews)
        driver_name, driver = choose_driver(args, work)
        specs = server_specs(args, port := server.free_port())
        print(
            f"about {estimate_s(args, specs) / 60:.1f} min of measuring; sections: "
            f"{', '.join(s for s in SECTIONS if s in args.only)}",
            flush=True,
        )
        ceilings = []
        if "ceiling" in args.only:
            images = np.stack([d.image for d in digits])
            inputs = ceiling.Inputs(images, [r.text for r in reviews])
            requested = ["cpu"] if args.preset == "cpu" else None
            providers = choose_providers(requested, ort.get_available_providers())
            ceilings = ceiling.measure_repository(
                args.models, providers, inputs, args.ceiling_seconds
            )
        measurements: list[Measurement] = []
        for spec in specs:
            measurements += drive(spec, targets, driver, args, port, work / f"{spec.name}.log")
    return {
        "machine": machine.facts(driver_name),
        "command": shlex.join(["python", "-m", "loadtest.bench", *sys.argv[1:]]),
        "settings": service_settings(args),
        "parameters": {
            "duration": args.duration,
            "warmup": args.warmup,
            "ceiling_seconds": args.ceiling_seconds,
            "overload_seconds": args.overload_seconds,
            "overload_concurrency": overload_level(args) if "overload" in args.only else 0,
        },
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "started_at": started,
        "elapsed_s": time.time() - started,
        "ceilings": ceilings,
        "measurements": measurements,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Measure (or re-render), print the table and ratios, write the reports."""
    args = parse_args(argv)
    results = bench_report.load(args.from_results) if args.from_results else run(args)
    args.reports.mkdir(parents=True, exist_ok=True)
    if not args.from_results:
        bench_report.save(results, args.reports / "results.json")
    checks = bench_doc.write(results, args.reports, None if args.no_doc else args.doc)
    missed = [check for check in checks if check.passed is False]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
