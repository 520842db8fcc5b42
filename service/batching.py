"""Dynamic batching (Triton-style): concurrent requests to one model ride in one `session.run`.

Per model, callers put their rows in a queue and await a future. One batcher task takes the oldest
request and whatever else is queued, up to `max_batch_rows` rows. It waits (at most
`max_queue_delay`) for more only while admitted requests are still on their way, being read and
parsed: a lone request runs at once, and so does a batch that nobody else is about to join. (A fixed
window would stall every batch of a closed-loop client pool, whose next requests cannot come until
this batch answers.) Inference runs in a thread of its own (onnxruntime releases the GIL), so the
event loop keeps parsing requests meanwhile, and those pile up into the next batch; except batches
expected to take less than `inline_below_s`, which run on the event loop: handing a 40 µs CNN run
to a thread and back costs more than the run. Each caller gets exactly its own rows back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from service.batch_observer import BatchObserver, BatchRecord
from service.errors import DeadlineExceeded, InferenceFailed, NotReady
from service.load_shedding import QueueState, refusal
from service.service_rate import ServiceRate
from service.tensor_rows import Tensors, concatenate, row_count, slice_rows, split_rows

logger = logging.getLogger(__name__)

__all__ = ["BatchRecord", "BatcherConfig", "DynamicBatcher", "Tensors"]
RunFn = Callable[[Tensors], Tensors]


@dataclass(frozen=True)
class BatcherConfig:
    """How one model's queue forms batches and sheds load."""

    max_batch_rows: int
    max_queue_delay_s: float
    # Requests waiting, not counting the batch being run. Requests, not rows, as in Triton: a
    # /generate call of 16 images holds one place, so capacity means the same on every route. A
    # request over max_batch_rows holds one place per batch it fills.
    queue_capacity: int
    timeout_s: float
    # Batches expected (from the measured service rate) to take less run on the event loop.
    inline_below_s: float = 0.0
    # False: every request runs alone (rows of one request still form one batch). Generators use
    # it so that the same seed gives byte-identical images whatever else is in flight.
    coalesce: bool = True


@dataclass(eq=False)
class _Request:
    feeds: Tensors
    rows: int
    deadline: float
    enqueued_at: float
    rows_ahead: int  # queued or running when it joined: what its wait measures the drain of
    future: asyncio.Future[Tensors] = field(repr=False)


class DynamicBatcher:
    """One model's request queue and the task that turns it into batched `session.run` calls."""

    def __init__(
        self,
        name: str,
        run: RunFn,
        config: BatcherConfig,
        observer: BatchObserver | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self._run = run
        self._observer = observer
        self._pending: deque[_Request] = deque()
        self._running: list[_Request] = []  # the batch in session.run right now
        self._queued_rows = 0
        self._arrived = asyncio.Event()  # a request was queued, or one on its way gave up
        self._on_the_way: set[asyncio.Task[object] | None] = set()  # admitted, not yet queued
        self._rate = ServiceRate()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"infer-{name}")
        self._task: asyncio.Task[None] | None = None
        self._accepting = False

    @property
    def queued_requests(self) -> int:
        """Requests waiting for a batch (the queue-depth gauge; what the capacity bounds)."""
        return len(self._pending)

    def start(self) -> None:
        """Start the batcher task on the running event loop."""
        self._accepting = True
        self._task = asyncio.create_task(self._serve(), name=f"batcher-{self.name}")

    async def stop(self, timeout_s: float) -> None:
        """Refuse new requests, give queued ones up to `timeout_s` to finish, fail the rest."""
        self._accepting = False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self._pending or self._running:
                    await asyncio.sleep(0.01)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for request in [*self._running, *self._pending]:
            _fail(request, NotReady(f"model {self.name} is shutting down", retry_after_s=1))
        self._pending.clear()
        self._report_queue()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def infer(self, feeds: Tensors) -> Tensors:
        """Run `feeds` (every array with the same number of rows) and return exactly their outputs.

        Requests larger than `max_batch_rows` are split into several queue entries.
        """
        chunks = split_rows(feeds, self.config.max_batch_rows)
        self._admit(places=len(chunks))
        loop = asyncio.get_running_loop()
        now = loop.time()
        futures = []
        for chunk in chunks:
            future: asyncio.Future[Tensors] = loop.create_future()
            deadline = now + self.config.timeout_s
            ahead = self._rows_ahead()
            request = _Request(chunk, row_count(chunk), deadline, now, ahead, future)
            self._pending.append(request)
            self._queued_rows += request.rows
            futures.append(future)
        self._on_the_way.discard(asyncio.current_task())
        self._arrived.set()
        self._report_queue()
        if len(futures) == 1:
            return await futures[0]
        return concatenate(list(await asyncio.gather(*futures)))

    @property
    def rows_per_s(self) -> float | None:
        """The measured inference rate; None until calibrated or a batch has run."""
        return self._rate.rows_per_s

    def calibrate(self, rows: int, seconds: float) -> None:
        """Seed the service rate with a run timed before serving: a first burst is weighed too."""
        self._rate.observe(rows, seconds)

    def retry_after_s(self) -> float:
        """Seconds until the current queue has likely drained, from the measured service rate."""
        return self._rate.drain_s(self._rows_ahead(), unknown_rate=self.config.max_batch_rows)

    def admit(self) -> None:
        """Admit one request before its body is read, or raise what `infer` would.

        NotReady or Overloaded, so under overload a refusal costs no reading or parsing.
        """
        self._admit(places=1)

    @contextlib.contextmanager
    def on_its_way(self) -> Iterator[None]:
        """Expect this task's rows until it calls `infer`: batches wait (briefly) for it.

        Enter it once the body has arrived, so a client that trickles its body never holds a
        batch back.
        """
        task = asyncio.current_task()
        self._on_the_way.add(task)
        try:
            yield
        finally:
            if task in self._on_the_way:  # it never queued (bad input): stop waiting for it
                self._on_the_way.discard(task)
                self._arrived.set()

    def _admit(self, places: int) -> None:
        if not self._accepting:
            raise NotReady(f"model {self.name} is not accepting requests", retry_after_s=1)
        queue = QueueState(self.queued_requests, self._rows_ahead(), self.retry_after_s())
        refused = refusal(self.name, self.config, queue, places, self._rate)
        if refused is not None:
            self._shed(refused.reason)
            raise refused.error

    def _rows_ahead(self) -> int:
        return self._queued_rows + sum(request.rows for request in self._running)

    async def _serve(self) -> None:
        while True:
            batch, gather_wait_s = await self._gather()
            self._report_queue()
            if not batch:
                continue
            self._running = batch
            try:
                await self._run_batch(batch, gather_wait_s)
            except Exception:
                logger.exception("inference failed on %s (%d requests)", self.name, len(batch))
                failure = InferenceFailed(
                    f"inference failed on model {self.name}; it has been logged"
                )
                for request in batch:
                    _fail(request, failure)
            self._running = []

    async def _run_batch(self, batch: list[_Request], gather_wait_s: float) -> None:
        loop = asyncio.get_running_loop()
        dispatched = loop.time()
        rows = sum(request.rows for request in batch)
        feeds = concatenate([request.feeds for request in batch])
        if self._rate.expected_s(rows) < self.config.inline_below_s:
            outputs = self._run(feeds)
        else:
            outputs = await loop.run_in_executor(self._executor, self._run, feeds)
        inference_s = loop.time() - dispatched
        self._deliver(batch, outputs)
        self._rate.observe(rows, inference_s)
        waits = tuple(dispatched - request.enqueued_at for request in batch)
        self._observe(BatchRecord(rows, len(batch), waits, gather_wait_s, inference_s))

    async def _gather(self) -> tuple[list[_Request], float]:
        """The next batch: the oldest live request and whatever may join it; the time waited."""
        while not self._pending:
            self._arrived.clear()
            await self._arrived.wait()
        loop = asyncio.get_running_loop()
        first = self._take(loop.time())
        if first is None:
            return [], 0.0
        batch, rows, waited = [first], first.rows, 0.0
        window_ends = loop.time() + self.config.max_queue_delay_s
        while self.config.coalesce and rows < self.config.max_batch_rows:
            if self._pending:
                if rows + self._pending[0].rows > self.config.max_batch_rows:
                    break
                request = self._take(loop.time())
                if request is not None:
                    batch.append(request)
                    rows += request.rows
                continue
            # Queue empty. Wait for requests being parsed, if any: they are about to join.
            remaining = window_ends - loop.time()
            if not self._on_the_way or remaining <= 0:
                break
            self._arrived.clear()
            started = loop.time()
            try:
                async with asyncio.timeout(remaining):
                    await self._arrived.wait()
            except TimeoutError:
                break
            finally:
                waited += loop.time() - started
        return batch, waited

    def _take(self, now: float) -> _Request | None:
        """Pop the oldest request; None if it was abandoned or expired (and has been answered)."""
        request = self._pending.popleft()
        self._queued_rows -= request.rows
        if request.future.done():  # the client went away and its task was cancelled
            return None
        waited = now - request.enqueued_at
        self._rate.observe_wait(request.rows_ahead, waited)
        if now > request.deadline:
            self._shed("deadline")
            _fail(
                request,
                DeadlineExceeded(
                    f"request waited {waited:.2f} s for model {self.name}, past the "
                    f"{self.config.timeout_s:g} s deadline; dropped before inference",
                    retry_after_s=self.retry_after_s(),
                ),
            )
            return None
        return request

    def _deliver(self, batch: list[_Request], outputs: Tensors) -> None:
        parts = slice_rows(outputs, [request.rows for request in batch])
        for request, part in zip(batch, parts, strict=True):
            if not request.future.done():
                request.future.set_result(part)

    def _observe(self, record: BatchRecord) -> None:
        if self._observer is not None:
            self._observer.batch_done(self.name, record)

    def _shed(self, reason: str) -> None:
        if self._observer is not None:
            self._observer.shed(self.name, reason)

    def _report_queue(self) -> None:
        if self._observer is not None:
            self._observer.queued(self.name, self.queued_requests)


def _fail(request: _Request, error: Exception) -> None:
    if not request.future.done():
        request.future.set_exception(error)
