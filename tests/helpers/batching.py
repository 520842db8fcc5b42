"""A batcher under test: a row-wise model that can be held busy, and an observer that keeps all."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import numpy as np

from service.batching import BatcherConfig, BatchRecord, DynamicBatcher, Tensors
from tests.helpers.waiting import until

T = TypeVar("T")
WEIGHTS = np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32)


class Recorder:
    """BatchObserver that keeps everything."""

    def __init__(self) -> None:
        self.batches: list[BatchRecord] = []
        self.shed_reasons: list[str] = []
        self.depths: list[int] = []

    def batch_done(self, model: str, record: BatchRecord) -> None:
        self.batches.append(record)

    def shed(self, model: str, reason: str) -> None:
        self.shed_reasons.append(reason)

    def queued(self, model: str, requests: int) -> None:
        self.depths.append(requests)


class Model:
    """A row-wise model (x @ W) whose runs can be held at a gate, recording each batch's rows."""

    def __init__(self, hold_first: bool = False, fail: bool = False) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.hold_first = hold_first
        self.fail = fail
        self.batch_rows: list[int] = []

    def run(self, feeds: Tensors) -> Tensors:
        self.started.set()
        if self.hold_first and not self.batch_rows:
            assert self.gate.wait(10), "test never opened the gate"
        self.batch_rows.append(len(feeds["x"]))
        if self.fail:
            raise RuntimeError("device lost")
        return {"y": feeds["x"] @ WEIGHTS, "id": feeds["id"] * 10}


def config(**overrides: float | int | bool) -> BatcherConfig:
    values: dict[str, float | int | bool] = {
        "max_batch_rows": 8,
        "max_queue_delay_s": 0.001,
        "queue_capacity": 64,
        "timeout_s": 10.0,
    }
    return BatcherConfig(**(values | overrides))  # type: ignore[arg-type]


def rows(*ids: int) -> Tensors:
    """Feeds whose rows are tagged with ids, so each caller can check it got its own rows."""
    x = np.stack([np.full(3, i, dtype=np.float32) for i in ids])
    return {"x": x, "id": np.array(ids, dtype=np.int64)}


def run(coroutine: Callable[[], Awaitable[T]]) -> T:
    async def with_timeout() -> T:
        return await asyncio.wait_for(coroutine(), timeout=20)

    return asyncio.run(with_timeout())


async def busy(
    model: Model, batcher_config: BatcherConfig, recorder: Recorder | None
) -> tuple[DynamicBatcher, asyncio.Task[Tensors]]:
    """A started batcher whose first request (row 0) is in `model`, held at its gate."""
    batcher = DynamicBatcher("m", model.run, batcher_config, recorder)
    batcher.start()
    first = asyncio.create_task(batcher.infer(rows(0)))
    await started(model)
    return batcher, first


async def started(model: Model) -> None:
    """Wait until the model's first run has begun (the batcher is busy)."""
    await until(model.started.is_set, what="the model's first run to start")


async def queued(batcher: DynamicBatcher, requests: int) -> None:
    """Wait until `requests` requests sit in the batcher's queue."""
    await until(lambda: batcher.queued_requests == requests, what=f"{requests} queued requests")


async def gathering(batcher: DynamicBatcher, recorder: Recorder) -> None:
    """Wait until the first batch is done and the next one has taken everything queued."""
    await until(lambda: bool(recorder.batches) and batcher.queued_requests == 0)
