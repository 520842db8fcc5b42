"""The compute ceiling: raw onnxruntime throughput per model, in process, no HTTP at all.

Each model is loaded exactly as the service loads it (`service.loading.load_model`: checksums,
session options, warm-up) and fed real inputs at several batch sizes; the best samples/s is
what no server around that session could beat on this machine.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from contract.repository import model_names, version_dir, versions
from contract.tensors import LatentDraw, RawValues, Tensors, model_inputs
from loadtest.payloads import SEED
from service.loading import LoadedModel, load_model

BATCH_SIZES = (1, 8, 16, 32, 64)


@dataclass(frozen=True)
class Ceiling:
    """Samples per second of one model at one batch size."""

    model: str
    batch_size: int
    samples_per_s: float


@dataclass(frozen=True)
class Inputs:
    """Real inputs to cut batches from: MNIST test images and IMDB test review texts."""

    images: np.ndarray  # (N, 28, 28) uint8
    texts: list[str]


def measure_repository(
    repository: Path, providers: Sequence[str], inputs: Inputs, seconds: float
) -> list[Ceiling]:
    """Every model's samples/s at every batch size up to its max_batch_size."""
    results = []
    for name in model_names(repository):
        folder = version_dir(repository, name, versions(repository, name)[-1])
        loaded = load_model(folder, providers)  # onnxruntime's default threads: all cores
        limit = loaded.metadata.batching.max_batch_size
        for batch in (size for size in BATCH_SIZES if size <= limit):
            feeds = model_feeds(loaded, inputs, batch)
            results.append(Ceiling(name, batch, batch * calls_per_second(loaded, feeds, seconds)))
    return results


def best(ceilings: list[Ceiling], model: str) -> Ceiling | None:
    """The batch size with the most samples/s for `model`."""
    rows = [c for c in ceilings if c.model == model]
    return max(rows, key=lambda c: c.samples_per_s) if rows else None


def model_feeds(loaded: LoadedModel, inputs: Inputs, batch: int) -> Tensors:
    """`batch` rows of real inputs (or seeded noise) for each of the model's input tensors."""
    metadata = loaded.metadata
    raw: RawValues = LatentDraw(batch, SEED)
    if metadata.preprocessing.kind == "image":
        raw = inputs.images[:batch]
    elif metadata.preprocessing.kind == "text":
        raw = inputs.texts[:batch]
    return model_inputs(metadata, raw, loaded.vocabulary)


def calls_per_second(loaded: LoadedModel, feeds: Tensors, seconds: float) -> float:
    """`session.run` calls per second over about `seconds` (after one untimed call)."""
    loaded.run(feeds)
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        loaded.run(feeds)
        calls += 1
    return calls / elapsed
