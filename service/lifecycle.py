"""One model version's life: opened (loaded, verified, warmed up) → serving → retired.

`ModelRegistry.reload` runs the whole path for start-up, the poller and `POST /admin/reload`
alike, and owns what is served; this module is what happens to one version on the way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from contract.metadata import ModelMetadata
from contract.text import Vocabulary
from service.batching import BatcherConfig, DynamicBatcher, Tensors
from service.loading import LoadedModel, ModelLoadError, load_model
from service.metrics import Metrics
from service.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class ModelVersion:
    """One loaded version of a model behind its own batcher: what a request runs on.

    A request pins the version it resolved for its whole life (`pinned`), so a hot swap never runs
    one version's preprocessing (say, its vocabulary) through another version's session; a
    replaced version retires once no request holds it.
    """

    loaded: LoadedModel
    batcher: DynamicBatcher
    users: int = 0  # requests holding this version right now

    @property
    def name(self) -> str:
        """Repository name of the model."""
        return self.loaded.metadata.name

    @property
    def metadata(self) -> ModelMetadata:
        """This version's metadata.json."""
        return self.loaded.metadata

    @property
    def ref(self) -> dict[str, str]:
        """Which model version answered, as every prediction response states it."""
        return {"model": self.name, "model_version": self.metadata.version}

    @property
    def vocabulary(self) -> Vocabulary:
        """The text model's vocabulary (only call on a sentiment model)."""
        assert self.loaded.vocabulary is not None, f"{self.name} is not a text model"
        return self.loaded.vocabulary

    async def infer(self, feeds: Tensors) -> Tensors:
        """Run rows through this version's batcher; the outputs are exactly these rows'."""
        return await self.batcher.infer(feeds)

    @contextlib.contextmanager
    def pinned(self) -> Iterator[ModelVersion]:
        """Hold this version for one request."""
        self.users += 1
        try:
            yield self
        finally:
            self.users -= 1

    async def retire(self, timeout_s: float) -> None:
        """Wait (up to `timeout_s`) for the requests holding this version, then stop its batcher."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.users and loop.time() < deadline:
            await asyncio.sleep(0.01)
        await self.batcher.stop(max(0.0, deadline - loop.time()))


async def open_version(
    folder: Path, providers: Sequence[str], settings: Settings, metrics: Metrics
) -> ModelVersion:
    """Load, verify and warm up the version in `folder` in a worker thread; its batcher waits."""
    try:
        loaded = await asyncio.to_thread(
            load_model, folder, providers, intra_op_threads=settings.intra_op_threads
        )
    except ModelLoadError:
        raise
    except Exception as exc:  # a bug in loading must not take the other models down
        logger.exception("loading %s failed unexpectedly", folder)
        raise ModelLoadError(f"unexpected error: {exc}") from exc
    batcher = _batcher(loaded, settings, metrics)
    batcher.calibrate(rows=1, seconds=1 / loaded.warm_rows_per_s)
    return ModelVersion(loaded, batcher)


def fingerprint(folder: Path) -> str:
    """A version and its files' latest change: a re-copied version gets another try."""
    try:
        changed = max((path.stat().st_mtime_ns for path in folder.iterdir()), default=0)
    except OSError:  # removed or still being copied: the next look decides
        changed = 0
    return f"{folder.name}@{changed}"


def _batcher(loaded: LoadedModel, settings: Settings, metrics: Metrics) -> DynamicBatcher:
    metadata = loaded.metadata
    delay_ms = settings.max_queue_delay_ms
    if delay_ms is None:
        delay_ms = metadata.batching.max_queue_delay_ms
    max_rows = metadata.batching.max_batch_size  # also the TensorRT profile's maximum
    if settings.max_batch_rows is not None:
        max_rows = min(max_rows, settings.max_batch_rows)
    config = BatcherConfig(
        max_batch_rows=max_rows,
        max_queue_delay_s=delay_ms / 1000,
        queue_capacity=settings.queue_capacity,
        timeout_s=settings.request_timeout_s,
        inline_below_s=settings.inline_inference_ms / 1000,
        coalesce=metadata.task != "digit-generation",
    )
    return DynamicBatcher(metadata.name, loaded.run, config, metrics)
