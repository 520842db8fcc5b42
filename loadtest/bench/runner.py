"""One bench run: the compute ceiling, then each server started and driven at each concurrency.

Returns everything measured as the dict that becomes `results.json`.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import onnxruntime as ort
import orjson

from contract.repository import model_names
from loadtest import server
from loadtest.bench import ceiling, locust_driver, machine, perf_analyzer, wrk
from loadtest.bench.drivers import Measurement, Target
from loadtest.bench.results import Results
from loadtest.bench.servers import ServerSpec, overload_level, server_specs, service_settings
from loadtest.bench.tables import progress_line
from loadtest.bench.targets import BODY_SAMPLES, write_targets
from loadtest.payloads import DigitSample, ReviewSample, data_dir, load_digits, load_reviews
from service.providers import choose_providers

SECTIONS = (
    *("ceiling", "noop", "service", "perf_analyzer", "unbatched"),
    *("defaults", "minimal", "keras", "overload"),
)
# Measured in turns, best of --pair-rounds: their ratio is a goal (`make serve` vs the minimal).
PAIRED = ("defaults", "minimal")
Driver = Callable[[str, Target, int, float], Measurement]
WhileUp = Callable[[str], None]


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


def drive(
    spec: ServerSpec,
    targets: dict[str, Target],
    driver: Driver,
    args: argparse.Namespace,
    port: int,
    log: Path,
    while_up: WhileUp | None = None,
) -> list[Measurement]:
    """Start one server, measure each of its targets at each concurrency (then `while_up` with
    its URL, then the overload run on the service), stop it."""
    results = []
    with server.running(spec.command, port, log, spec.env) as url:
        for name in spec.targets:
            driver(url, targets[name], 8, args.warmup)  # warm caches, connections, JIT paths
            for level in args.levels:
                measured = replace(
                    driver(url, targets[name], level, args.duration), server=spec.name
                )
                print(progress_line(measured), flush=True)
                results.append(measured)
        if while_up is not None:
            while_up(url)
        if spec.name == "service" and "overload" in args.only:
            level = overload_level(args)
            print(f"overload: {level} connections for {args.overload_seconds:g} s", flush=True)
            measured = driver(url, targets["digit-pixels"], level, args.overload_seconds)
            results.append(replace(measured, server="overload"))
            print(progress_line(results[-1]), flush=True)
    return results


def drive_in_turns(
    specs: list[ServerSpec], rounds: int, drive_one: Callable[[ServerSpec], list[Measurement]]
) -> list[Measurement]:
    """Each server `rounds` times, in alternating order (A B, B A, ...); each point's best run.

    Two servers compared by one ratio must not owe it to which of them a noisy neighbour
    slowed: taking turns spreads the noise over both, and the best of each point keeps what each
    server can do.
    """
    runs: list[Measurement] = []
    for index in range(rounds):
        for spec in specs if index % 2 == 0 else specs[::-1]:
            runs += drive_one(spec)
    return best_runs(runs)


def best_runs(runs: list[Measurement]) -> list[Measurement]:
    """The run with the most req/s for each server, target and concurrency, in first-run order."""
    best: dict[tuple[str, str, int], Measurement] = {}
    for run in runs:
        key = (run.server, run.target, run.concurrency)
        if key not in best or run.throughput > best[key].throughput:
            best[key] = run
    return list(best.values())


def estimate_s(args: argparse.Namespace, specs: list[ServerSpec]) -> float:
    """Seconds the measurements take, not counting server start-up."""
    targets = sum(
        len(spec.targets) * (args.pair_rounds if spec.name in PAIRED else 1) for spec in specs
    )
    seconds = targets * (args.warmup + len(args.levels) * args.duration)
    if "overload" in args.only:
        seconds += args.overload_seconds
    if "ceiling" in args.only:
        seconds += 8 * len(ceiling.BATCH_SIZES) * (args.ceiling_seconds + 0.1)
    if "perf_analyzer" in args.only:  # three windows at least, per model and concurrency
        seconds += len(perf_analyzer.MODELS) * len(perf_analyzer.LEVELS) * 3 * args.duration / 2
    return float(seconds)


def measure_ceilings(
    args: argparse.Namespace, digits: list[DigitSample], reviews: list[ReviewSample]
) -> list[ceiling.Ceiling]:
    """Raw onnxruntime samples/s of every model, when the ceiling section is selected."""
    if "ceiling" not in args.only:
        return []
    inputs = ceiling.Inputs(np.stack([d.image for d in digits]), [r.text for r in reviews])
    requested = ["cpu"] if args.preset == "cpu" else None
    providers = choose_providers(requested, ort.get_available_providers())
    return ceiling.measure_repository(args.models, providers, inputs, args.ceiling_seconds)


def perf_analyzer_rows(
    args: argparse.Namespace, samples: tuple[list[DigitSample], list[ReviewSample]], work: Path
) -> tuple[list[perf_analyzer.PerfAnalyzerRow], WhileUp | None]:
    """The list perf_analyzer's rows will fill, and what fills it while the service is up."""
    rows: list[perf_analyzer.PerfAnalyzerRow] = []
    if "perf_analyzer" not in args.only:
        return rows, None
    tool = perf_analyzer.locate()
    if isinstance(tool, str):
        print(f"skipping perf_analyzer: {tool}", flush=True)
        return rows, None

    def measure(url: str) -> None:
        window_s = args.duration / 2
        rows.extend(perf_analyzer.measure_models(tool, url, args.models, samples, work, window_s))

    return rows, measure


def preflight(args: argparse.Namespace) -> None:
    """Refuse an empty repository; drop the Keras baseline when there is nothing to serve it."""
    if not model_names(args.models):
        raise SystemExit(f"no models in {args.models}; run `make models` or pass --models DIR")
    if "keras" in args.only and not (args.artifacts / "digits-cnn" / "model.keras").is_file():
        print(f"no Keras artifacts in {args.artifacts}: skipping the Keras baseline", flush=True)
        args.only.discard("keras")


def run(args: argparse.Namespace) -> Results:
    """Every selected section; the results as a JSON-ready dict."""
    preflight(args)
    started, load_before = time.time(), os.getloadavg()
    folder = data_dir(args.data_dir)
    digits, reviews = load_digits(folder, BODY_SAMPLES), load_reviews(folder, BODY_SAMPLES)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        targets = write_targets(work, digits, reviews)
        driver_name, driver = choose_driver(args, work)
        specs = server_specs(args, port := server.free_port())
        sections = ", ".join(s for s in SECTIONS if s in args.only)
        minutes = estimate_s(args, specs) / 60
        print(f"about {minutes:.1f} min of measuring; sections: {sections}", flush=True)
        ceilings = measure_ceilings(args, digits, reviews)
        oip_rows, measure_oip = perf_analyzer_rows(args, (digits, reviews), work)

        def drive_spec(spec: ServerSpec) -> list[Measurement]:
            while_up = measure_oip if spec.name == "service" else None
            return drive(spec, targets, driver, args, port, work / f"{spec.name}.log", while_up)

        measurements: list[Measurement] = []
        paired = [spec for spec in specs if spec.name in PAIRED]
        for spec in specs:
            if spec not in paired:
                measurements += drive_spec(spec)
            elif spec is paired[0]:  # the pair runs in turns, where its first member stands
                measurements += drive_in_turns(paired, args.pair_rounds, drive_spec)
    return {
        "machine": machine.facts(driver_name),
        "command": shlex.join(["python", "-m", "loadtest.bench", *sys.argv[1:]]),
        "settings": service_settings(args),
        "parameters": parameters(args),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "started_at": started,
        "elapsed_s": time.time() - started,
        "ceilings": ceilings,
        "measurements": measurements,
        "perf_analyzer": oip_rows,
        "profile": attached(args.profile_summary),
        "servers": attached(args.servers_summary),
        "decoders": attached(args.decoders_summary),
    }


def attached(path: Path) -> dict[str, object] | None:
    """A summary measured by its own command (`make profile`, `python -m loadtest.asgi_servers`,
    `python -m loadtest.decoders`), shown on the page beside this run's figures, if there is one."""
    return orjson.loads(path.read_bytes()) if path.is_file() else None


def parameters(args: argparse.Namespace) -> dict[str, float]:
    """The run's measuring parameters, as the page's method section states them."""
    return {
        "duration": args.duration,
        "warmup": args.warmup,
        "ceiling_seconds": args.ceiling_seconds,
        "overload_seconds": args.overload_seconds,
        "overload_concurrency": overload_level(args) if "overload" in args.only else 0,
        "pair_rounds": args.pair_rounds,
    }
