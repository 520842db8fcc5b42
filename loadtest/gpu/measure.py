"""Steps 1–4 of the GPU check, in one time-boxed run that saves its results after every figure.

A lent machine gives about 15 minutes in all, so the run is short (under 6 minutes on an H200),
prints what it does, and never loses what it measured: the JSON and the page are rewritten after
each model and each route, and a SIGTERM, Ctrl-C or the time box stops it with both written.
Order: the machine; raw latency on CPU, then CUDA, then TensorRT (each model's engine built cold,
which is the build time reported); the service on the GPU providers (reusing those engines);
the service on the CPU.
"""

from __future__ import annotations

import math
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import FrameType

from contract.repository import model_names, version_dir, versions
from loadtest import server
from loadtest.bench.ceiling import Inputs
from loadtest.gpu import latency, page, schema, service_run
from loadtest.gpu.device import describe_device
from loadtest.gpu.driver import client_pool
from loadtest.gpu.inputs import load_inputs, synthetic_inputs
from loadtest.gpu.schema import GpuResults, Options, Requested, ServiceRun

RESULTS_FILE = "gpu-results.json"
PAGE_FILE = "gpu.md"
# Past the time box the steps in flight get this long before SIGALRM stops them.
HARD_GRACE_S = 20
STARTUP_RESERVE_S = 30.0
COST_ORDER: tuple[Requested, ...] = ("cpu", "cuda", "tensorrt")
Save = Callable[[], None]


class StoppedEarlyError(Exception):
    """A signal or the hard time box ended the run; the message says which."""


@dataclass(frozen=True)
class Plan:
    """What to measure, where to write it, and by when (a time.time() deadline)."""

    repository: Path
    inputs: Path | None
    out: Path
    logs: Path
    options: Options
    deadline: float

    def left(self) -> float:
        """Seconds until the time box closes."""
        return self.deadline - time.time()

    def service_reserve(self) -> float:
        """Seconds one service run needs: start-up, then every route with its warm-up."""
        return STARTUP_RESERVE_S + 3 * (self.options.bench_seconds + 2.0)


def run(plan: Plan) -> GpuResults:
    """Measure what `plan` says; the results as written to `plan.out`, complete or not."""
    results = GpuResults(
        measured_at=datetime.now(UTC), elapsed_s=0, complete=False, options=plan.options
    )
    started = time.monotonic()
    plan.out.mkdir(parents=True, exist_ok=True)
    plan.logs.mkdir(parents=True, exist_ok=True)
    try:
        with _stop_signals(plan.deadline), _working_copy(plan.repository) as repository:
            _steps(plan, repository, results, lambda: publish(results, plan.out, started))
        results.complete = not results.stopped
    except StoppedEarlyError as exc:
        results.stopped = str(exc)
    except KeyboardInterrupt:
        results.stopped = "interrupted (Ctrl-C)"
    finally:
        publish(results, plan.out, started)
    print(f"wrote {plan.out / RESULTS_FILE} and {plan.out / PAGE_FILE}", flush=True)
    return results


def publish(results: GpuResults, out: Path, started: float) -> None:
    """Write the JSON and the page rendered from it."""
    results.elapsed_s = round(time.monotonic() - started, 1)
    schema.save(results, out / RESULTS_FILE)
    (out / PAGE_FILE).write_text(page.render(results))


def _steps(plan: Plan, repository: Path, results: GpuResults, save: Save) -> None:
    print("[1/3] the machine", flush=True)
    results.device = describe_device()
    save()
    inputs = load_inputs(plan.inputs) if plan.inputs else synthetic_inputs()
    print("[2/3] raw latency per model and provider", flush=True)
    _raw_latencies(plan, repository, inputs, results, save)
    print("[3/3] the service on the GPU providers, then on the CPU", flush=True)
    _service_runs(plan, repository, inputs, results, save)


def _raw_latencies(
    plan: Plan, repository: Path, inputs: Inputs, results: GpuResults, save: Save
) -> None:
    reserve = len(_service_plans(plan.options.providers)) * plan.service_reserve()
    for requested in (p for p in COST_ORDER if p in plan.options.providers):
        for name in model_names(repository):
            if plan.left() < reserve:
                _skip(results, f"raw {requested} latency of {name} and later: time box")
                return
            folder = version_dir(repository, name, versions(repository, name)[-1])
            load, loaded = latency.open_model(folder, requested)
            results.loads.append(load)
            if loaded is not None:
                results.latencies += latency.measure(
                    loaded, requested, inputs, plan.options.seconds
                )
            print(f"  {name} on {requested}: {_summary(load, results)}", flush=True)
            save()


def _service_runs(
    plan: Plan, repository: Path, inputs: Inputs, results: GpuResults, save: Save
) -> None:
    load = service_run.Load(
        plan.options.concurrency, plan.options.bench_seconds, plan.options.client_processes
    )
    with client_pool(load.processes) as pool:
        for label, providers in _service_plans(plan.options.providers):
            if plan.left() < STARTUP_RESERVE_S:
                _skip(results, f"the {label} service run: time box")
                continue
            run = service_run.new_run(label, providers)
            results.services.append(run)
            timeout = min(server.STARTUP_TIMEOUT_S, max(5.0, plan.left() - 10.0))
            routes = partial(_bench_routes, plan, pool, run, inputs, load, results, save)
            service_run.serve(run, repository, plan.logs, timeout, routes)
            save()


def _bench_routes(
    plan: Plan,
    pool: ProcessPoolExecutor,
    run: ServiceRun,
    inputs: Inputs,
    load: service_run.Load,
    results: GpuResults,
    save: Save,
    url: str,
) -> None:
    save()  # the run's providers, before minutes of load
    for name, target in service_run.targets(inputs).items():
        if plan.left() < load.seconds + 2.0:
            _skip(results, f"{run.label} {name} bench: time box")
            continue
        results.bench.append(service_run.bench_target(pool, url, run.label, name, target, load))
        save()


def _service_plans(providers: list[Requested]) -> list[tuple[str, list[str]]]:
    """The GPU run on the providers asked for, then the CPU run to compare with (once)."""
    plans: list[tuple[str, list[str]]] = [("cpu", ["cpu"])]
    if providers != ["cpu"]:
        plans.insert(0, ("gpu", list(providers)))
    return plans


def _skip(results: GpuResults, what: str) -> None:
    results.notes.append(f"skipped {what}")
    results.stopped = "time box"
    print(f"  skipped {what}", flush=True)


def _summary(load: schema.ModelLoad, results: GpuResults) -> str:
    if load.error:
        return f"no figures ({load.error[:160]})"
    rows = [r for r in results.latencies if (r.model, r.requested) == (load.model, load.requested)]
    figures = ", ".join(f"batch {r.batch} p50 {r.p50_ms:.3f} ms" for r in rows)
    return f"loaded in {load.load_s} s on {load.provider}; {figures}"


@contextmanager
def _working_copy(repository: Path) -> Iterator[Path]:
    """The repository copied without TensorRT engine caches: builds are cold, the checkout clean."""
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as folder:
        copy = Path(folder) / "models"
        shutil.copytree(repository, copy, ignore=shutil.ignore_patterns("trt-cache"))
        yield copy


@contextmanager
def _stop_signals(deadline: float) -> Iterator[None]:
    """SIGTERM, and SIGALRM just past the deadline, raise StoppedEarlyError in the main thread."""

    def stop(signum: int, _: FrameType | None) -> None:
        raise StoppedEarlyError("time box (hard stop)" if signum == signal.SIGALRM else "SIGTERM")

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGALRM)}
    signal.alarm(max(1, math.ceil(deadline - time.time()) + HARD_GRACE_S))
    try:
        yield
    finally:
        signal.alarm(0)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
