"""The served models: what is configured, what loaded, and how requests reach each one.

A model that fails to load is logged and reported (not ready) while the others keep serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import onnxruntime as ort

from export.repository import ModelMetadata, model_names, version_dir, versions
from service.batching import BatcherConfig, DynamicBatcher, Tensors
from service.catalog import Endpoint, short_name
from service.errors import NotReady, UnknownModel
from service.loading import LoadedModel, ModelLoadError, load_model
from service.metrics import Metrics
from service.providers import CPU, choose_providers, unusable
from service.settings import Settings
from training.text import Vocabulary

logger = logging.getLogger(__name__)

Status = Literal["loading", "ready", "failed"]
# Seconds a client should wait before asking again, by why the service is not ready.
RETRY_LOADING_S = 5.0
RETRY_FAILED_S = 30.0


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
        logger.info("%s version %s retired", self.name, self.metadata.version)


@dataclass
class ServedModel:
    """One configured model: its status and, once ready, the version it serves."""

    name: str
    versions: list[str] = field(default_factory=list)  # on disk, oldest first
    status: Status = "loading"
    error: str | None = None
    current: ModelVersion | None = None
    # Where the newest version on disk failed to load: polling skips it until its files change.
    rejected: str | None = None

    @property
    def version(self) -> str | None:
        """The version being served, if any."""
        return self.current.metadata.version if self.current else None


@dataclass(frozen=True)
class Readiness:
    """Whether every configured model can take traffic, and if not, why."""

    ready: bool
    reason: str | None
    retry_after_s: float | None


class ModelRegistry:
    """Loads the configured models in the lifespan and resolves `?model=` to a ready one."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.models: dict[str, ServedModel] = {}
        self.draining = False
        self.providers: list[str] = [CPU]
        # One load at a time: the start-up load, an admin reload and the poller never overlap.
        self.lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()

    def discover(self) -> None:
        """List the models to serve (status "loading"); no file is opened beyond listings."""
        root = self.settings.model_repository
        names = self.settings.models or model_names(root)
        self.models = {name: ServedModel(name, versions(root, name)) for name in names}
        self.providers = choose_providers(self.settings.providers, ort.get_available_providers())
        for name in names:
            self.metrics.model_ready.labels(name).set(0)
        if not names:
            logger.error("no models found in %s", root.resolve())

    async def load_all(self) -> None:
        """Load the newest version of every model in turn; failures are recorded, never raised."""
        for served in self.models.values():
            async with self.lock:
                await self._load_newest(served)
        ready = [m.name for m in self.models.values() if m.status == "ready"]
        logger.info("%d of %d models ready: %s", len(ready), len(self.models), ", ".join(ready))

    async def open_version(self, name: str, version: str) -> ModelVersion:
        """Load, verify and warm up one version in a worker thread; its batcher is not started."""
        folder = version_dir(self.settings.model_repository, name, version)
        try:
            loaded = await asyncio.to_thread(
                load_model, folder, self.providers, intra_op_threads=self.settings.intra_op_threads
            )
        except ModelLoadError:
            raise
        except Exception as exc:  # a bug in loading must not take the other models down
            logger.exception("loading %s failed unexpectedly", folder)
            raise ModelLoadError(f"unexpected error: {exc}") from exc
        self._forget_unusable(loaded.providers)
        return ModelVersion(loaded, self._batcher(loaded))

    def install(self, served: ServedModel, version: ModelVersion) -> None:
        """Serve `version` from now on; the version it replaces retires in the background.

        Synchronous, so the switch is atomic for the event loop: a request resolves either the old
        version or the new one, and the one it got serves it to the end.
        """
        if self.draining:  # shut down while this version loaded: start nothing new
            return
        version.batcher.start()
        previous, served.current = served.current, version
        served.status, served.error, served.rejected = "ready", None, None
        self.metrics.model_ready.labels(served.name).set(1)
        metadata = version.metadata
        logger.info(
            "%s version %s ready on %s", served.name, metadata.version, version.loaded.providers[0]
        )
        if previous is not None:
            task = asyncio.create_task(previous.retire(self.settings.drain_timeout_s))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    async def close(self, timeout_s: float) -> None:
        """Drain every batcher (queued requests get up to `timeout_s` to finish)."""
        self.draining = True
        serving = [m.current for m in self.models.values() if m.current is not None]
        stops = [version.batcher.stop(timeout_s) for version in serving]
        await asyncio.gather(*stops, *self._retiring)

    def begin_drain(self) -> None:
        """Report not ready from now on so load balancers stop sending traffic; keep serving."""
        self.draining = True

    def get(self, name: str) -> ServedModel:
        """A configured model by repository name or short name, whatever its status."""
        for served in self.models.values():
            if name in (served.name, short_name(served.name)):
                return served
        known = ", ".join(self.models) or "none"
        raise UnknownModel(f"model {name!r} is not served here; served models: {known}")

    def resolve(self, endpoint: Endpoint, requested: str | None) -> ModelVersion:
        """The version serving `endpoint?model=requested`, or the error to answer with."""
        name = endpoint.model_name(requested)
        served = self.models.get(name)
        if served is None or name not in self._served_by(endpoint):
            here = ", ".join(self._served_by(endpoint)) or "none"
            raise UnknownModel(
                f"model {name!r} is not served by {endpoint.path}; use model= one of "
                f"{endpoint.choices()} (served here: {here})"
            )
        if served.current is None:
            retry = RETRY_LOADING_S if served.status == "loading" else RETRY_FAILED_S
            detail = f": {served.error}" if served.error else ""
            raise NotReady(f"model {name} is {served.status}{detail}", retry_after_s=retry)
        return served.current

    def _served_by(self, endpoint: Endpoint) -> list[str]:
        # A model outside the short-name table is still served by the endpoint of its task.
        return [
            name
            for name, served in self.models.items()
            if name in endpoint.aliases.values()
            or (served.current is not None and served.current.metadata.task == endpoint.task)
        ]

    def readiness(self) -> Readiness:
        """Ready only when not draining and every configured model is loaded, verified and warm."""
        if self.draining:
            return Readiness(False, "draining: the server is shutting down", RETRY_LOADING_S)
        if not self.models:
            root = self.settings.model_repository
            return Readiness(False, f"no models to serve in {root}", RETRY_FAILED_S)
        failed = [f"{m.name} ({m.error})" for m in self.models.values() if m.status == "failed"]
        if failed:
            return Readiness(False, "models failed to load: " + "; ".join(failed), RETRY_FAILED_S)
        loading = [m.name for m in self.models.values() if m.status == "loading"]
        if loading:
            return Readiness(False, "models still loading: " + ", ".join(loading), RETRY_LOADING_S)
        return Readiness(True, None, None)

    async def _load_newest(self, served: ServedModel) -> None:
        served.versions = versions(self.settings.model_repository, served.name)
        if not served.versions:
            root = self.settings.model_repository
            self._fail(served, f"no version of {served.name} in {root}")
            return
        try:
            version = await self.open_version(served.name, served.versions[-1])
        except ModelLoadError as exc:
            self._fail(served, str(exc))
            return
        self.install(served, version)

    def _batcher(self, loaded: LoadedModel) -> DynamicBatcher:
        metadata = loaded.metadata
        delay_ms = self.settings.max_queue_delay_ms
        if delay_ms is None:
            delay_ms = metadata.batching.max_queue_delay_ms
        max_rows = metadata.batching.max_batch_size  # also the TensorRT profile's maximum
        if self.settings.max_batch_rows is not None:
            max_rows = min(max_rows, self.settings.max_batch_rows)
        config = BatcherConfig(
            max_batch_size=max_rows,
            max_queue_delay_s=delay_ms / 1000,
            queue_capacity=self.settings.queue_capacity,
            timeout_s=self.settings.request_timeout_s,
            inline_below_s=self.settings.inline_inference_ms / 1000,
            coalesce=metadata.task != "digit-generation",
        )
        return DynamicBatcher(metadata.name, loaded.run, config, self.metrics)

    def _forget_unusable(self, used: list[str]) -> None:
        lost = unusable(self.providers, used)
        if lost:
            logger.warning("%s cannot run on this host; models use %s", ", ".join(lost), used)
            self.providers = [name for name in self.providers if name not in lost]

    def _fail(self, served: ServedModel, reason: str) -> None:
        served.status = "failed"
        served.error = reason
        logger.error("model %s cannot be served: %s", served.name, reason)
