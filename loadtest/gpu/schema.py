"""gpu-results.json: a fixed schema for what one GPU check measured, partial runs included.

docs/gpu.md is rendered from this file alone, and a test validates the file and re-renders the
page, so the figures on the page are always the ones in the JSON.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1
GPU_PROVIDERS = frozenset({"TensorrtExecutionProvider", "CUDAExecutionProvider"})
Requested = Literal["cpu", "cuda", "tensorrt"]
TargetName = Literal["digit", "sentiment", "generate"]


class Strict(BaseModel):
    """Unknown fields are errors: a renamed field must not pass as a missing figure."""

    model_config = ConfigDict(extra="forbid")


class Device(Strict):
    """The machine and the software stack the figures were measured on."""

    gpu: str | None = Field(description="nvidia-smi's name; None where there is no GPU")
    gpu_memory_mib: int | None
    driver: str | None
    cuda: str | None = Field(description="the CUDA version the driver supports (nvidia-smi)")
    cuda_runtime: str | None = Field(description="the nvidia-cuda-runtime pip package's version")
    cudnn: str | None
    onnxruntime: str
    available_providers: list[str]
    library_dirs: list[str] = Field(description="LD_LIBRARY_PATH: where CUDA was looked for")
    cpu: str
    cpu_count: int = Field(ge=1)
    python: str


class ModelLoad(Strict):
    """One model opened on one requested provider; `provider` is what onnxruntime really used."""

    model: str
    requested: Requested
    provider: str | None
    load_s: float | None = Field(None, ge=0, description="with TensorRT: the engine build, cold")
    error: str | None = None


class Latency(Strict):
    """Raw `session.run` latency of one model, provider and batch size, in process."""

    model: str
    requested: Requested
    provider: str
    batch: int = Field(ge=1)
    calls: int = Field(ge=1)
    p50_ms: float = Field(ge=0)
    p99_ms: float = Field(ge=0)
    mean_ms: float = Field(ge=0)
    samples_per_s: float = Field(ge=0)


class ServedModel(Strict):
    """One model as the service's /v1/models reported it."""

    model: str
    status: str
    provider: str | None
    providers: list[str]
    error: str | None = None


class ServiceRun(Strict):
    """One start of `python -m service` with SERVING_PROVIDERS=`providers`."""

    label: str
    providers: list[str]
    ready_s: float | None = Field(None, ge=0, description="start to /readyz 200")
    models: list[ServedModel] = []
    error: str | None = None


class BenchRow(Strict):
    """Closed-loop load on one route of one service run."""

    server: str = Field(description="the ServiceRun label")
    target: TargetName
    path: str
    concurrency: int = Field(ge=1)
    seconds: float = Field(ge=0)
    requests: int = Field(ge=0)
    errors: int = Field(ge=0)
    requests_per_s: float = Field(ge=0)
    p50_ms: float | None = Field(None, ge=0)
    p99_ms: float | None = Field(None, ge=0)
    first_error: str | None = None


class Options(Strict):
    """How the check was run."""

    providers: list[Requested]
    seconds: float = Field(gt=0, description="timed seconds per model, provider and batch")
    bench_seconds: float = Field(gt=0)
    concurrency: int = Field(ge=1)
    client_processes: int = Field(ge=1)
    budget_s: float = Field(gt=0)
    inputs: Literal["real sample", "synthetic"]


class GpuResults(Strict):
    """Everything one `python -m loadtest.gpu check` measured."""

    schema_version: Literal[1] = SCHEMA_VERSION
    measured_at: datetime
    elapsed_s: float = Field(ge=0)
    complete: bool
    stopped: str | None = Field(None, description="why the run ended early, if it did")
    options: Options
    device: Device | None = None
    loads: list[ModelLoad] = []
    latencies: list[Latency] = []
    services: list[ServiceRun] = []
    bench: list[BenchRow] = []
    notes: list[str] = []


def save(results: GpuResults, path: Path) -> None:
    """Write `results` as indented JSON (written whole, then renamed: never half a file)."""
    partial = path.with_suffix(".json.partial")
    partial.write_text(results.model_dump_json(indent=2) + "\n")
    partial.replace(path)


def load(path: Path) -> GpuResults:
    """Read and validate a results file; raises pydantic.ValidationError naming the bad field."""
    return GpuResults.model_validate_json(path.read_bytes())


def problems(results: GpuResults) -> list[str]:
    """What the schema cannot say: rows that contradict each other. Empty when consistent."""
    opened = {(entry.model, entry.requested) for entry in results.loads if entry.provider}
    found = [
        f"latency of {row.model} on {row.requested} without a successful load"
        for row in results.latencies
        if (row.model, row.requested) not in opened
    ]
    labels = {run.label for run in results.services}
    found += [
        f"bench row for {row.server}, which no service run has"
        for row in results.bench
        if row.server not in labels
    ]
    if results.complete and results.stopped:
        found.append(f"complete, yet stopped early ({results.stopped})")
    return found


def off_gpu(run: ServiceRun) -> list[str]:
    """Models of a service run not on CUDA or TensorRT (the check's goal is an empty list)."""
    return [model.model for model in run.models if model.provider not in GPU_PROVIDERS]
