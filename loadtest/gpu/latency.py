"""Raw per-model latency on each provider, in process: what the hardware gives before any HTTP.

Models are opened exactly as the service opens them (`service.loading.load_model`: checksums,
provider options, TensorRT profile and engine cache, warm-up) and fed the same real inputs as
`make bench`'s ceiling. A provider that silently falls back is recorded as such, with
onnxruntime's reason, and gets no latency rows: a CPU figure must never pass as a GPU one.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnxruntime as ort

from loadtest.bench.ceiling import Inputs, model_feeds
from loadtest.gpu.schema import Latency, ModelLoad, Requested
from service.loading import LoadedModel, ModelLoadError, load_model
from service.providers import PREFERENCE, normalise

BATCHES = (1, 64)
MIN_CALLS = 3
REASON_CHARS = 400
FAILURE = re.compile(r"(Failed to|Please install|cannot open shared object).*?(?=\x1b|$)")
BANNER = re.compile(r"\*+ ?EP Error ?\*+|\x1b\[[0-9;]*m")


def provider_chain(requested: Requested) -> list[str]:
    """What the service would try for `requested`: it, then each fallback below it, down to CPU."""
    full = normalise(requested)
    return list(PREFERENCE[PREFERENCE.index(full) :])


def batch_sizes(max_batch_size: int) -> list[int]:
    """Batch 1 and 64, the larger cut to what the model's TensorRT profile and batcher allow."""
    return sorted({min(batch, max_batch_size) for batch in BATCHES})


def open_model(folder: Path, requested: Requested) -> tuple[ModelLoad, LoadedModel | None]:
    """Load `folder` on `requested` (timed); the model only when that provider really took it."""
    name = folder.parent.name
    wanted = normalise(requested)
    if wanted not in ort.get_available_providers():
        return ModelLoad(
            model=name,
            requested=requested,
            provider=None,
            error=f"not in this onnxruntime build ({', '.join(ort.get_available_providers())})",
        ), None
    started = time.perf_counter()
    with _warnings("service.loading") as warnings, _native_stderr() as native:
        try:
            loaded = load_model(folder, provider_chain(requested))
        except ModelLoadError as exc:
            return ModelLoad(model=name, requested=requested, provider=None, error=str(exc)), None
    seconds = round(time.perf_counter() - started, 3)
    used = loaded.providers[0]
    if used != wanted:
        error = f"fell back to {used}: {fallback_reason(native, warnings)}"
        return ModelLoad(model=name, requested=requested, provider=used, error=error), None
    return ModelLoad(model=name, requested=requested, provider=used, load_s=seconds), loaded


def measure(
    loaded: LoadedModel, requested: Requested, inputs: Inputs, seconds: float
) -> list[Latency]:
    """Latency rows at batch 1 and 64 (or the model's largest batch), about `seconds` each."""
    rows = []
    for batch in batch_sizes(loaded.metadata.batching.max_batch_size):
        feeds = model_feeds(loaded, inputs, batch)
        times_ms = call_times_ms(loaded, feeds, seconds)
        rows.append(
            Latency(
                model=loaded.metadata.name,
                requested=requested,
                provider=loaded.providers[0],
                batch=batch,
                calls=len(times_ms),
                p50_ms=round(float(np.percentile(times_ms, 50)), 4),
                p99_ms=round(float(np.percentile(times_ms, 99)), 4),
                mean_ms=round(float(np.mean(times_ms)), 4),
                samples_per_s=round(batch * 1000 / float(np.mean(times_ms)), 1),
            )
        )
    return rows


def call_times_ms(loaded: LoadedModel, feeds: dict[str, np.ndarray], seconds: float) -> np.ndarray:
    """Milliseconds of each `session.run` over about `seconds` (one untimed call first)."""
    loaded.run(feeds)
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < MIN_CALLS or time.perf_counter() < deadline:
        started = time.perf_counter()
        loaded.run(feeds)
        times.append(time.perf_counter() - started)
    return np.array(times) * 1000


def fallback_reason(native: list[str], warnings: list[str]) -> str:
    """onnxruntime's own words for a fallback, shortest first: "Failed to load library …"."""
    failures = [found.group(0) for line in native if (found := FAILURE.search(line))]
    cleaned = [" ".join(BANNER.sub(" ", message).split()) for message in warnings]
    reasons = list(dict.fromkeys(failures + cleaned)) or ["onnxruntime gave no reason"]
    return " | ".join(reasons)[:REASON_CHARS]


@contextmanager
def _native_stderr() -> Iterator[list[str]]:
    """Lines written to file descriptor 2 inside the block, then passed on to it.

    onnxruntime's C++ logger writes there, out of Python's reach, and it alone says why CUDA did
    not load (a missing libcublasLt.so.13, say): Python only sees a silent fallback.
    """
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode(errors="replace")
            sys.stderr.write(text)
            lines += text.splitlines()


@contextmanager
def _warnings(logger_name: str) -> Iterator[list[str]]:
    """Collect the warnings one logger emits inside the block (the fallback reasons)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
