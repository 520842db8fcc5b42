"""Dynamic batching under load and trouble: a full queue, deadlines, failures, abandonment, stop."""

from __future__ import annotations

import asyncio

import pytest

from service.batching import DynamicBatcher
from service.errors import DeadlineExceeded, InferenceFailed, NotReady, Overloaded
from tests.helpers.batching import Model, Recorder, busy, config, queued, rows, run


def test_a_full_queue_refuses_with_a_retry_after_from_the_service_rate() -> None:
    recorder, model = Recorder(), Model(hold_first=True)
    errors: list[Overloaded] = []

    async def scenario() -> None:
        batcher, running = await busy(model, config(queue_capacity=2), recorder)
        # Capacity counts requests: a 3-row request holds one place, like a 1-row one.
        waiting = [
            asyncio.create_task(batcher.infer(rows(1, 2, 3))),
            asyncio.create_task(batcher.infer(rows(4))),
        ]
        await queued(batcher, 2)
        with pytest.raises(Overloaded) as before_body:
            batcher.admit()
        with pytest.raises(Overloaded) as at_infer:
            await batcher.infer(rows(5))
        errors.extend([before_body.value, at_infer.value])
        model.gate.set()
        await asyncio.gather(running, *waiting)
        batcher.admit()  # drained: admits again
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
        waiting = asyncio.create_task(batcher.infer(rows(1)))
        await queued(batcher, 1)
        with pytest.raises(Overloaded):
            await batcher.infer(rows(*range(10, 19)))  # 9 rows = 2 batches of 8: 1 + 2 > 2
        model.gate.set()
        await asyncio.gather(running, waiting)
        await batcher.stop(1)

    run(scenario)
    assert recorder.shed_reasons == ["queue_full"]


def test_requests_past_their_deadline_are_dropped_before_inference() -> None:
    recorder, model = Recorder(), Model(hold_first=True)
    errors: list[BaseException] = []

    async def scenario() -> None:
        batcher, running = await busy(model, config(timeout_s=0.05), recorder)
        late = asyncio.create_task(batcher.infer(rows(1)))
        await queued(batcher, 1)
        # Not synchronisation: time passing the 50 ms deadline is the behaviour under test.
        await asyncio.sleep(0.2)
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
        await queued(batcher, 2)
        abandoned.cancel()  # the client disconnected
        model.gate.set()
        await asyncio.gather(running, kept)
        await batcher.stop(1)

    run(scenario)
    assert model.batch_rows == [1, 1]


def test_a_stopped_batcher_refuses_new_requests() -> None:
    async def scenario() -> None:
        batcher = DynamicBatcher("m", Model().run, config())
        batcher.start()
        await batcher.stop(1)
        with pytest.raises(NotReady):
            await batcher.infer(rows(1))

    run(scenario)


def test_stopping_lets_the_running_batch_finish_and_fails_what_is_left() -> None:
    model = Model(hold_first=True)
    outcomes: list[object] = []

    async def scenario() -> None:
        batcher, running = await busy(model, config(), None)
        # Past the timeout the running batch is failed, not left hanging.
        await batcher.stop(timeout_s=0.2)
        model.gate.set()
        try:
            outcomes.append(await running)
        except NotReady as exc:
            outcomes.append(exc)

    run(scenario)
    assert len(outcomes) == 1
    assert isinstance(outcomes[0], NotReady)


def test_a_calibrated_batcher_refuses_work_it_could_not_start_before_the_deadline() -> None:
    recorder, model = Recorder(), Model(hold_first=True)
    refusals: list[Overloaded] = []

    async def scenario() -> None:
        batcher, running = await busy(model, config(timeout_s=1.25), recorder)
        # 20 rows/s as a slow warm-up measured; the queue is assumed to drain at half that.
        batcher.calibrate(rows=20, seconds=1.0)
        waiting = [asyncio.create_task(batcher.infer(rows(*range(i, i + 4)))) for i in (1, 5, 9)]
        await queued(batcher, 3)  # 4 + 4 + 4 rows and the running one: 1.3 s of work, > 1 s
        with pytest.raises(Overloaded) as refused:
            batcher.admit()
        refusals.append(refused.value)
        model.gate.set()
        await asyncio.gather(running, *waiting)
        await batcher.stop(1)

    run(scenario)
    assert "13 rows ahead, about 1.3 s of work" in refusals[0].message
    assert recorder.shed_reasons == ["predicted_wait"]
