"""docs/gpu.md, rendered from gpu-results.json alone: same JSON, same page, byte for byte."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from loadtest.gpu.schema import GPU_PROVIDERS, BenchRow, Device, GpuResults, ServiceRun, off_gpu

SHORT = {
    "TensorrtExecutionProvider": "TensorRT",
    "CUDAExecutionProvider": "CUDA",
    "CPUExecutionProvider": "CPU",
}


def render(results: GpuResults) -> str:
    """The whole page."""
    sections = [
        _header(results),
        _device(results.device),
        *(_service(run) for run in results.services),
        _loads(results),
        _latencies(results),
        _bench(results.bench),
        _notes(results.notes),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table; None shows as an em dash."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("—" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def short(provider: str | None) -> str | None:
    """TensorRT, CUDA or CPU for onnxruntime's provider names."""
    return SHORT.get(provider, provider) if provider else None


def _header(results: GpuResults) -> str:
    state = "complete" if results.complete else f"partial ({results.stopped or 'time box'})"
    options = results.options
    return (
        "# The GPU path, measured\n\n"
        "Written by `make gpu-check` (`python -m loadtest.gpu check`) from `gpu-results.json`; "
        "do not edit by hand: `python -m loadtest.gpu render` rebuilds it from the JSON.\n\n"
        f"Measured {results.measured_at.isoformat(timespec='seconds')} in "
        f"{results.elapsed_s:.0f} s, {state}. Providers asked for: "
        f"{', '.join(options.providers)}; {options.seconds:g} s per raw measurement, "
        f"{options.bench_seconds:g} s per route at {options.concurrency} connections "
        f"({options.client_processes} client processes); inputs: {options.inputs}."
    )


def _device(device: Device | None) -> str:
    if device is None:
        return ""
    rows = [
        ("GPU", device.gpu),
        ("GPU memory (MiB)", device.gpu_memory_mib),
        ("driver / CUDA", _pair(device.driver, device.cuda)),
        ("CUDA runtime / cuDNN (pip)", _pair(device.cuda_runtime, device.cudnn)),
        ("onnxruntime", device.onnxruntime),
        ("CUDA libraries searched", ", ".join(device.library_dirs) or None),
        ("available providers", ", ".join(filter(None, map(short, device.available_providers)))),
        ("CPU", f"{device.cpu} ({device.cpu_count} cores)"),
        ("Python", device.python),
    ]
    return "## Machine\n\n" + table(("", ""), rows)


def _pair(first: str | None, second: str | None) -> str:
    return f"{first or '—'} / {second or '—'}"


def _service(run: ServiceRun) -> str:
    asked = ", ".join(filter(None, map(short, run.providers)))
    head = f"## Where the service runs each model: `{run.label}` run (asked for {asked})\n\n"
    if run.error:
        return head + f"The service did not start: `{run.error[-300:]}`"
    rows = [(m.model, m.status, short(m.provider), m.error) for m in run.models]
    return (
        head
        + f"Ready {run.ready_s} s after start{_gpu_verdict(run)}. From `GET /v1/models`.\n\n"
        + table(("model", "status", "provider in use", "error"), rows)
    )


def _gpu_verdict(run: ServiceRun) -> str:
    if not GPU_PROVIDERS & set(run.providers):
        return ""
    missed = off_gpu(run)
    return f"; NOT on the GPU: {', '.join(missed)}" if missed else "; every model on the GPU"


def _loads(results: GpuResults) -> str:
    if not results.loads:
        return ""
    rows = [
        (load.model, load.requested, short(load.provider), load.load_s, load.error)
        for load in results.loads
    ]
    return (
        "## Opening each model on each provider\n\n"
        "Load time includes checksums and warm-up; with TensorRT it is the engine build from a "
        "cold cache. A provider that fell back gets no latency rows below.\n\n"
        + table(("model", "asked for", "got", "load s", "error"), rows)
    )


def _latencies(results: GpuResults) -> str:
    if not results.latencies:
        return ""
    rows = [
        (r.model, short(r.provider), r.batch, r.p50_ms, r.p99_ms, r.samples_per_s, r.calls)
        for r in results.latencies
    ]
    header = ("model", "provider", "batch", "p50 ms", "p99 ms", "samples/s", "calls")
    return "## Raw latency (`session.run`, in process)\n\n" + table(header, rows)


def _bench(rows: list[BenchRow]) -> str:
    if not rows:
        return ""
    header = ("route", "server", "connections", "requests/s", "p50 ms", "p99 ms", "errors")
    body = [
        (r.path, r.server, r.concurrency, r.requests_per_s, r.p50_ms, r.p99_ms, r.errors)
        for r in rows
    ]
    errors = [f"- {r.server} {r.path}: `{r.first_error}`" for r in rows if r.first_error]
    return (
        "## The service under load (closed loop, loopback)\n\n"
        + table(header, body)
        + _speedups(rows)
        + ("\n\nFirst errors:\n\n" + "\n".join(errors) if errors else "")
    )


def _speedups(rows: list[BenchRow]) -> str:
    by_key = {(r.server, r.target): r for r in rows}
    lines = [
        f"- {gpu.path}: {gpu.requests_per_s / cpu.requests_per_s:.2f}× the CPU's requests/s"
        for (server, target), gpu in by_key.items()
        if server == "gpu" and (cpu := by_key.get(("cpu", target))) and cpu.requests_per_s
    ]
    return (
        "\n\nGPU against the same run on the machine's CPU:\n\n" + "\n".join(lines) if lines else ""
    )


def _notes(notes: list[str]) -> str:
    return "## Notes\n\n" + "\n".join(f"- {note}" for note in notes) if notes else ""
