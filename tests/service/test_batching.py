"""Dynamic batching: who rides with whom, and what each caller gets back.

Timing is asserted through the batcher's own records (batch composition, time spent waiting for
company), not wall-clock thresholds, so the tests hold on a busy two-core machine.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np

from service.batching import DynamicBatcher, Tensors
from service.loading import load_model
from service.providers import CPU
from tests.helpers.batching import (
    WEIGHTS,
    Model,
    Recorder,
    busy,
    config,
    gathering,
    queued,
    rows,
    run,
    started,
)
from tests.helpers.tiny_models import build_repository


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
        await queued(batcher, 3)
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
        admitted, parsed = asyncio.Event(), asyncio.Event()

        async def admitted_then_parsed() -> Tensors:
            batcher.admit()  # before its body is read, as routes do
            with batcher.on_its_way():  # its body has arrived; now it is being parsed
                admitted.set()
                await parsed.wait()
                return await batcher.infer(rows(3, 4, 5, 6, 7, 8))  # fills the batch to 8

        first = asyncio.create_task(batcher.infer(rows(0)))
        await started(model)
        early = [asyncio.create_task(batcher.infer(rows(i))) for i in (1, 2)]
        late = asyncio.create_task(admitted_then_parsed())
        await admitted.wait()
        await queued(batcher, 2)
        model.gate.set()
        await gathering(batcher, recorder)  # it holds [1, 2] and waits for the one on its way
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
        waiting = [asyncio.create_task(batcher.infer(rows(i))) for i in (1, 2, 3)]
        await queued(batcher, 3)
        model.gate.set()
        await asyncio.gather(first, *waiting)
        await batcher.stop(1)

    run(scenario)
    assert model.batch_rows == [1, 3]
    assert recorder.batches[1].gather_wait_s == 0.0


def test_a_request_that_gives_up_on_its_way_stops_the_wait() -> None:
    recorder, model = Recorder(), Model(hold_first=True)

    async def scenario() -> None:
        # A 30 s window and a 20 s test timeout: if the batcher kept waiting, the test would fail.
        batcher, first = await busy(model, config(max_queue_delay_s=30.0), recorder)
        waiting = [asyncio.create_task(batcher.infer(rows(i))) for i in (1, 2)]
        with batcher.on_its_way():  # a request whose body turns out to be invalid
            await queued(batcher, 2)
            model.gate.set()
            await gathering(batcher, recorder)  # it holds [1, 2] and waits for this one
        await asyncio.gather(first, *waiting)
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


def test_batches_never_exceed_max_batch_rows_and_big_requests_are_split() -> None:
    recorder, model = Recorder(), Model()

    async def scenario() -> Tensors:
        batcher = DynamicBatcher("m", model.run, config(max_batch_rows=4), recorder)
        batcher.start()
        result = await batcher.infer(rows(*range(10)))
        await batcher.stop(1)
        return result

    result = run(scenario)
    assert max(model.batch_rows) <= 4
    assert sum(model.batch_rows) == 10
    assert result["id"].tolist() == [i * 10 for i in range(10)], "rows come back whole and in order"


def test_without_coalescing_each_request_runs_alone() -> None:
    model = Model(hold_first=True)

    async def scenario() -> None:
        batcher, running = await busy(model, config(coalesce=False), None)
        others = [asyncio.create_task(batcher.infer(rows(i, i))) for i in (1, 2)]
        await queued(batcher, 2)
        model.gate.set()
        await asyncio.gather(running, *others)
        await batcher.stop(1)

    run(scenario)
    assert model.batch_rows == [1, 2, 2]


def test_batched_onnx_results_equal_single_results(tmp_path: Path) -> None:
    """On a real onnxruntime session: rows batched with others equal rows run alone."""
    root = build_repository(tmp_path, ("digits-cnn",))
    loaded = load_model(root / "digits-cnn" / "1", [CPU], intra_op_threads=1)
    images = np.random.default_rng(1).random((12, 28, 28, 1), dtype=np.float32)
    recorder = Recorder()

    async def scenario() -> list[Tensors]:
        batcher = DynamicBatcher("digits-cnn", loaded.run, config(max_batch_rows=16), recorder)
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
