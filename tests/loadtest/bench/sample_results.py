"""A made-up bench run: measurements, ceilings and the rest of a results.json, for unit tests."""

from __future__ import annotations

from loadtest.bench.ceiling import Ceiling
from loadtest.bench.drivers import Measurement
from loadtest.bench.perf_analyzer import PerfAnalyzerRow
from loadtest.bench.results import Results


def measured(server: str, target: str, level: int, ok: int, **fields: object) -> Measurement:
    """A one-second measurement with no errors, p50 1 ms and p99 10 ms unless `fields` say else."""
    values: dict[str, object] = {
        "duration_s": 1.0, "rejected": 0, "server_errors": 0, "other_errors": 0,
        "missing_retry_after": 0, "p50_ms": 1.0, "p99_ms": 10.0,
    }  # fmt: skip
    return Measurement(server, target, level, ok=ok, **(values | fields))  # type: ignore[arg-type]


MEASUREMENTS = [
    measured("noop", "noop", 8, 4000),
    measured("noop", "noop", 32, 5000),
    measured("service", "digit-pixels", 8, 3000),
    measured("service", "digit-pixels", 32, 3600, p99_ms=18.0),
    measured("service", "sentiment", 32, 1000),
    measured("service", "digit-png", 32, 2000),
    measured("service", "generate", 8, 60),
    measured("service", "generate-json", 8, 24),
    measured("defaults", "digit-pixels", 32, 1500),
    measured("minimal", "digit-pixels", 32, 2000, p99_ms=6.0),
    measured("keras", "digit-pixels", 32, 30),
    measured("keras", "sentiment", 32, 25),
    measured("overload", "digit-pixels", 1280, 2000, rejected=9000, missing_retry_after=0),
]
CEILINGS = [Ceiling("gan-dcgan", 16, 1100.0), Ceiling("gan-dcgan", 32, 1200.0)]
PERF_ANALYZER = [
    PerfAnalyzerRow("digits-cnn", 8, 2500.0, 3.0, 6.0),
    PerfAnalyzerRow("digits-cnn", 32, 3100.0, 9.0, 16.0),
    PerfAnalyzerRow("sentiment-lstm", 32, 1200.0, 20.0, 41.0),
]
RESULTS: Results = {
    "machine": {
        "nproc": "2", "cpu": "AMD EPYC", "threads_per_core": "1", "hypervisor": "KVM",
        "memory_gib": 23.5, "kernel": "6", "python": "3.11", "gpu": "none",
        "packages": {"onnxruntime": "1.31.1", "tensorflow": "-"}, "driver": "wrk",
        "driver_version": "wrk 4.1.0",
    },
    "command": "python -m loadtest.bench",
    "settings": {"providers": "cpu", "workers": 2},
    "parameters": {
        "duration": 5.0, "warmup": 1.0, "ceiling_seconds": 0.5, "overload_seconds": 8.0,
        "overload_concurrency": 1280, "pair_rounds": 3,
    },
    "load_average": {"before": [0.1, 0.1, 0.1], "after": [1.5, 0.5, 0.2]},
    "started_at": 1_700_000_000.0,
    "elapsed_s": 300.0,
    "ceilings": CEILINGS,
    "measurements": MEASUREMENTS,
    "perf_analyzer": PERF_ANALYZER,
    "servers": {
        "command": "python -m loadtest.asgi_servers --workers 2",
        "measured_at": 1_700_000_000.0,
        "load": "load average before 0.10 / 0.10 / 0.10, after 1.50 / 0.50 / 0.20",
        "table": "| server | workers | endpoint | req/s |\n| --- | ---: | --- | ---: |\n"
        "| granian | 2 | healthz | 9,999 |",
    },
    "decoders": {
        "command": "python -m loadtest.decoders",
        "measured_at": 1_700_000_000.0,
        "table": "| format | Pillow decode µs |\n| --- | ---: |\n| png | 777 |",
    },
    "profile": {
        "digit-pixels": {
            "throughput": 3000.0,
            "core_us_per_request": 200.0,
            "parts": {"FastAPI and Starlette": 0.5, "onnxruntime": 0.25, "logging": 0.25},
        },
        "sentiment": {
            "throughput": 1000.0,
            "core_us_per_request": 400.0,
            "parts": {"onnxruntime": 0.75, "FastAPI and Starlette": 0.25},
        },
    },
}  # fmt: skip
