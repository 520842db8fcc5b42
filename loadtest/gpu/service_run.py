"""The service as users meet it: start `python -m service`, ask it where each model runs, load it.

Where a model really runs comes from the service's own answer (/v1/models `provider`), not from
what was asked: onnxruntime-gpu lists CUDA and TensorRT as available even where they cannot load.
The routes are driven like `make bench` drives them (one digit, one review, a 16-digit grid).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from loadtest import server
from loadtest.bench.ceiling import Inputs
from loadtest.gpu.driver import Tally, Target, drive, spread
from loadtest.gpu.inputs import digit_bodies, review_bodies
from loadtest.gpu.schema import BenchRow, ServedModel, ServiceRun, TargetName
from service.providers import normalise

GENERATE_COUNT = 16
JSON = "application/json"
WARMUP_S = 0.5
OnReady = Callable[[str], None]


@dataclass(frozen=True)
class Load:
    """How hard and how long each route is driven."""

    concurrency: int
    seconds: float
    processes: int


def targets(inputs: Inputs) -> dict[TargetName, Target]:
    """The three routes the issue compares, with real bodies."""
    seeds = tuple(f"/generate?count={GENERATE_COUNT}&seed={seed}" for seed in range(64))
    return {
        "digit": Target("POST", ("/predict/digit",), digit_bodies(inputs), JSON),
        "sentiment": Target("POST", ("/sentiment",), review_bodies(inputs), JSON),
        "generate": Target("GET", seeds),
    }


def served_models(url: str) -> list[ServedModel]:
    """Each model's status and the provider its session really uses, from /v1/models."""
    response = httpx.get(f"{url}/v1/models", timeout=10.0)
    response.raise_for_status()
    return [
        ServedModel(
            model=info["name"],
            status=info["status"],
            provider=info.get("provider"),
            providers=info.get("providers", []),
            error=info.get("error"),
        )
        for info in response.json()["models"]
    ]


def new_run(label: str, providers: list[str]) -> ServiceRun:
    """An empty record of one service start on `providers` (short or full names)."""
    return ServiceRun(label=label, providers=[normalise(name) for name in providers])


def serve(
    run: ServiceRun, repository: Path, logs: Path, startup_timeout_s: float, on_ready: OnReady
) -> None:
    """Start the service on `run.providers`, record its models in `run`, call `on_ready`, stop it.

    `run` is filled in place, so a run stopped half-way still shows what it measured.
    """
    port = server.free_port()
    env = server.service_env(repository, port, providers=",".join(run.providers))
    log = logs / f"service-{run.label}.log"
    started = time.perf_counter()
    try:
        with server.running(
            server.SERVICE_COMMAND, port, log, env, timeout_s=startup_timeout_s
        ) as url:
            run.ready_s = round(time.perf_counter() - started, 2)
            run.models = served_models(url)
            print(f"  {run.label}: ready in {run.ready_s} s; {_where(run)}", flush=True)
            on_ready(url)
    except server.ServerStartError as exc:
        run.error = str(exc)[-1000:]
        print(f"  {run.label}: did not start: {run.error}", flush=True)


def bench_target(
    pool: ProcessPoolExecutor, url: str, label: str, name: TargetName, target: Target, load: Load
) -> BenchRow:
    """Warm the route up briefly, then drive it for `load.seconds`; one bench row."""
    connections = spread(load.concurrency, load.processes)
    drive(pool, url, target, connections, min(WARMUP_S, load.seconds))
    tally = drive(pool, url, target, connections, load.seconds)
    return bench_row(label, name, target, load, tally)


def bench_row(label: str, name: TargetName, target: Target, load: Load, tally: Tally) -> BenchRow:
    """Summarise one route's tally (latencies of successful requests only)."""
    latencies = sorted(tally.latencies_ms)
    return BenchRow(
        server=label,
        target=name,
        path=target.paths[0].split("&seed=")[0],
        concurrency=load.concurrency,
        seconds=load.seconds,
        requests=len(latencies),
        errors=tally.errors,
        requests_per_s=round(len(latencies) / load.seconds, 1),
        p50_ms=_percentile(latencies, 0.50),
        p99_ms=_percentile(latencies, 0.99),
        first_error=tally.first_error,
    )


def _percentile(ordered: list[float], share: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 3)


def _where(run: ServiceRun) -> str:
    return ", ".join(f"{m.model} on {m.provider or m.status}" for m in run.models)
