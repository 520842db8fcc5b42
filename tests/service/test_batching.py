"""Dynamic batching: who rides with whom, what each caller gets back, and when load is shed.

Timing is asserted through the batcher's own records (batch composition, time spent waiting for
company), not wall-clock thresholds, so the tests hold on a busy two-core machine.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest

from service.batching import BatcherConfig, BatchRecord, DynamicBatcher, Tensors
from service.errors import DeadlineExceeded, InferenceFailed, NotReady, Overloaded
from service.loading import load_model
from service.providers import CPU
from tests.service.tiny_models import build_repository

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
        "max_batch_size": 8,
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
    while not model.started.is_set():
        await asyncio.sleep(0.001)


def test_a_lone_request_runs_at_once_without_waiting_for_company() -> None:
    recorder, model = Recorder(), Model()

    async def scenario() -> Tensors:
        # A huge window: a batcher that waited for company would show it in gather_wait_s.
        batcher = DynamicBatcher("m", model.run, config(max_queue_delay_s=30.0), recorder)
        batcher.start()
        result = await batcher.infer(rows(1))
        await batcher.stop(1)
        return result

    result = run(scenario)
    assert result["id"].tolist() == [10]
    assert len(recorder.batches) == 1
    assert recorder.batches[0].requests == 1
    assert recorder.batches[0].gather_wait_s == 0.0


def test_requests_queued_while_the_model_is_busy_ride_in_one_batch_and_get_their_own_rows() -> None:
    recorder, model = Recorder(), Model(hold_first=True)

    async def scenario() -> list[Tensors]:
        batcher, first = await busy(model, config(max_queue_delay_s=0), recorder)
        others = [asyncio.create_task(batcher.infer(rows(*ids))) for ids in ([1], [2, 3], [4])]
        await asyncio.sleep(0.01)
        model.gate.set()
        results = await asyncio.gather(first, *others)
        await batcher.stop(1)
        return results

    results = run(scenario)
    assert model.batch_rows == [1, 4], "the three waiting requests (4 rows) formed one batch"
    assert [r.requests for r in recorder.batches] == [1, 3]
    assert [r["id"].tolist() for r in results] == [[0], [10], [20, 30], [40]]
    for ids, result in zip(([0], [1], [2, 3], [4]), results, strict=True):
        single = rows(*ids)["x"] @ WEIGHTS
        np.testing.assert_allclose(result["y"], single, rtol=1e-6)


def test_the_batcher_waits_within_the_window_for_requests_on_their_way() -> None:
    recorder, model = Recorder(), Model(hold_first=True)

    async def scenario() -> None:
        batcher = DynamicBatcher("m", model.run, config(max_queue_delay_s=5.0), recorder)
        batcher.start()
        parsed = asyncio.Event()

        async def admitted_then_parsed() -> Tensors:
            with batcher.admission():  # admitted before its body is read, as routes do
                await parsed.wait()
                return await batcher.infer(rows(3, 4, 5, 6, 7, 8))  # fills the batch to 8

        first = asyncio.create_task(batcher.infer(rows(0)))
        await started(model)
        early = [asyncio.create_task(batcher.infer(rows(i))) for i in (1, 2)]
        late = asyncio.create_task(admitted_then_parsed())
        await asyncio.sleep(0)
        model.gate.set()
        while len(recorder.batches) < 1:
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.05)  # the batcher holds [1, 2] and waits for the one on its way
        parsed.set()
        await asyncio.gather(first, *early, late)
        await batcher.stop(1)

    run(scenario)
    assert model.batch_rows == [1, 8]
    assert recorder.batches[1].requests == 3
    assert recorder.batches[1].gather_wait_s > 0


def test_with_nobody_on_the_way_a_batch_goes_at_once() -> None:
    """A closed-loop client pool: everyone is queued, so waiting for more could only stall."""
    recorder, model = Recorder(), Model(hold_first=True)

    async def scenario() -> None:
        batcher, first = await busy(model, config(max_queue_delay_s=30.0), recorder)
        queued = [asyncio.create_task(batcher.infer(rows(i))) for i in (1, 2, 3)]
        await asyncio.sleep(0)
        model.gate.set()
        await asyncio.gather(first, *queued)
        await batcher.stop(1)

    run(scenario)
    assert model.batch_rows == [1, 3]
    assert recorder.batches[1].gather_wait_s == 0.0


def test_a_request_that_gives_up_on_its_way_stops_the_wait() -> None:
    recorder, model = Recorder(), Model(hold_first=True)

    async def scenario() -> None:
        # A 30 s window and a 20 s test timeout: if the batcher kept waiting, the test would fail.
        batcher, first = await busy(model, config(max_queue_delay_s=30.0), recorder)
        queued = [asyncio.create_task(batcher.infer(rows(i))) for i in (1, 2)]
        with batcher.admission():  # a request whose body turns out to be invalid
            await asyncio.sleep(0)
            model.gate.set()
            while len(recorder.batches) < 1:
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.02)
        await asyncio.gather(first, *queued)
        await batcher.stop(1)

    run(scenario)
    assert model.batch_rows == [1, 2]


def test_batches_expected_to_be_quick_run_on_the_event_loop() -> None:
    threads: list[str] = []

    def run_model(feeds: Tensors) -> Tensors:
        threads.append(threading.current_thread().name)
        return {"y": feeds["x"] @ WEIGHTS, "id": feeds["id"]}

    async def scenario() -> None:
        batcher = DynamicBatcher("m", run_model, config(inline_below_s=60.0))
        batcher.start()
        for i in range(3):
            await batcher.infer(rows(i))
        await batcher.stop(1)

    run(scenario)
    loop_thread = threading.current_thread().name
    # The first batch has no measured rate yet, so it goes to the inference thread.
    assert threads[0].startswith("infer-m")
    assert threads[1:] == [loop_thread, loop_thread]


def test_batches_never_exceed_max_batch_size_and_big_requests_are_split() -> None:
    recorder, model = Recorder(), Model()

    async def scenario() -> Tensors:
        batcher = DynamicBatcher("m", model.run, config(max_batch_size=4), recorder)
        batcher.start()
        result = await batcher.infer(rows(*range(10)))
        await batcher.stop(1)
        return result

    result = run(scenario)
    assert max(model.batch_rows) <= 4
    assert sum(model.batch_rows) == 10
    assert result["id"].tolist() == [i * 10 for i in range(10)], "rows come back whole and in order"


def test_a_full_queue_refuses_with_a_retry_after_from_the_service_rate() -> None:
    recorder, model = Recorder(), Model(hold_first=True)
    errors: list[Overloaded] = []

    async def scenario() -> None:
        batcher, running = await busy(model, config(queue_capacity=2), recorder)
        # Capacity counts requests: a 3-row request holds one place, like a 1-row one.
        queued = [
            asyncio.create_task(batcher.infer(rows(1, 2, 3))),
            asyncio.create_task(batcher.infer(rows(4))),
        ]
        await asyncio.sleep(0)
        assert batcher.queued_requests == 2
        with pytest.raises(Overloaded) as before_body, batcher.admission():
            pass
        with pytest.raises(Overloaded) as at_infer:
            await batcher.infer(rows(5))
        errors.extend([before_body.value, at_infer.value])
        model.gate.set()
        await asyncio.gather(running, *queued)
        with batcher.admission():  # drained: admits again
            pass
        await batcher.stop(1)

    run(scenario)
    assert len(errors) == 2, "the pre-body check and infer itself both refuse"
    assert all(error.status_code == 429 for error in errors)
    assert all((error.retry_after_s or 0) >= 1 for error in errors)
    assert "2 requests queued" in errors[0].message
    assert recorder.shed_reasons == ["queue_full", "queue_full"]
    assert max(recorder.depths) == 2
    assert recorder.depths[-1] == 0, "the gauge returns to 0 once the queue drains"


def test_a_request_over_the_batch_size_holds_one_place_per_batch() -> None:
    recorder, model = Recorder(), Model(hold_first=True)

    async def scenario() -> None:
        batcher, running = await busy(model, config(queue_capacity=2), recorder)
        queued = asyncio.create_task(batcher.infer(rows(1)))
        await asyncio.sleep(0)
        with pytest.raises(Overloaded):
            await batcher.infer(rows(*range(10, 19)))  # 9 rows = 2 batches of 8: 1 + 2 > 2
        model.gate.set()
        await asyncio.gather(running, queued)
        await batcher.stop(1)

    run(scenario)
    assert recorder.shed_reasons == ["queue_full"]


def test_requests_past_their_deadline_are_dropped_before_inference() -> None:
    recorder, model = Recorder(), Model(hold_first=True)
    errors: list[BaseException] = []

    async def scenario() -> None:
        batcher, running = await busy(model, config(timeout_s=0.05), recorder)
        late = asyncio.create_task(batcher.infer(rows(1)))
        await asyncio.sleep(0.2)  # the deadline passes while the model is busy
        model.gate.set()
        await running
        try:
            await late
        except DeadlineExceeded as exc:
            errors.append(exc)
        await batcher.stop(1)

    run(scenario)
    assert len(errors) == 1
    assert model.batch_rows == [1], "the expired request never reached the model"
    assert recorder.shed_reasons == ["deadline"]


def test_an_inference_error_fails_that_batch_only() -> None:
    model = Model(fail=True)

    async def scenario() -> None:
        batcher = DynamicBatcher("m", model.run, config())
        batcher.start()
        with pytest.raises(InferenceFailed):
            await batcher.infer(rows(1))
        model.fail = False
        result = await batcher.infer(rows(2))
        assert result["id"].tolist() == [20]
        await batcher.stop(1)

    run(scenario)


def test_abandoned_requests_are_skipped() -> None:
    model = Model(hold_first=True)

    async def scenario() -> None:
        batcher, running = await busy(model, config(), None)
        abandoned = asyncio.create_task(batcher.infer(rows(1, 2)))
        kept = asyncio.create_task(batcher.infer(rows(3)))
        await asyncio.sleep(0)
        abandoned.cancel()  # the client disconnected
        model.gate.set()
        await asyncio.gather(running, kept)
        await batcher.stop(1)

    run(scenario)
    assert model.batch_rows == [1, 1]


def test_without_coalescing_each_request_runs_alone() -> None:
    model = Model(hold_first=True)

    async def scenario() -> None:
        batcher, running = await busy(model, config(coalesce=False), None)
        others = [asyncio.create_task(batcher.infer(rows(i, i))) for i in (1, 2)]
        await asyncio.sleep(0.01)
        model.gate.set()
        await asyncio.gather(running, *others)
        await batcher.stop(1)

    run(scenario)
    assert model.batch_rows == [1, 2, 2]


def test_a_stopped_batcher_refuses_new_requests() -> None:
    async def scenario() -> None:
        batcher = DynamicBatcher("m", Model().run, config())
        batcher.start()
        await batcher.stop(1)
        with pytest.raises(NotReady):
            await batcher.infer(rows(1))

    run(scenario)


def test_batched_onnx_results_equal_single_results(tmp_path: Path) -> None:
    """On a real onnxruntime session: rows batched with others equal rows run alone."""
    root = build_repository(tmp_path, ("digits-cnn",))
    loaded = load_model(root / "digits-cnn" / "1", [CPU], intra_op_threads=1)
    images = np.random.default_rng(1).random((12, 28, 28, 1), dtype=np.float32)
    recorder = Recorder()

    async def scenario() -> list[Tensors]:
        batcher = DynamicBatcher("digits-cnn", loaded.run, config(max_batch_size=16), recorder)
        batcher.start()
        results = await asyncio.gather(
            *(batcher.infer({"image": images[i : i + 1]}) for i in range(len(images)))
        )
        await batcher.stop(1)
        return results

    results = run(scenario)
    assert any(record.requests > 1 for record in recorder.batches), "requests were batched"
    for i, result in enumerate(results):
        single = loaded.run({"image": images[i : i + 1]})
        np.testing.assert_allclose(result["probabilities"], single["probabilities"], atol=1e-6)


def test_stopping_lets_the_running_batch_finish_and_fails_what_is_left() -> None:
    model = Model(hold_first=True)
    outcomes: list[object] = []

    async def scenario() -> None:
        batcher, running = await busy(model, config(), None)
        stopping = asyncio.create_task(batcher.stop(timeout_s=0.2))
        await asyncio.sleep(0.3)  # past the timeout: the running batch is failed, not left hanging
        await stopping
        model.gate.set()
        try:
            outcomes.append(await running)
        except NotReady as exc:
            outcomes.append(exc)

    run(scenario)
    assert len(outcomes) == 1
    assert isinstance(outcomes[0], NotReady)
