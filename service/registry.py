"""The served models: what is configured, what loaded, and how requests reach each one.

A model that fails to load is logged and reported (not ready) while the others keep serving.
"""

from __future__ import annotations

import asyncio
import logging
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


@dataclass
class ServedModel:
    """One configured model: its status and, once ready, its session behind a batcher."""

    name: str
    versions: list[str] = field(default_factory=list)
    status: Status = "loading"
    error: str | None = None
    loaded: LoadedModel | None = None
    batcher: DynamicBatcher | None = None

    @property
    def metadata(self) -> ModelMetadata:
        """Metadata of the loaded version (only call on a ready model)."""
        assert self.loaded is not None, f"{self.name} is not loaded"
        return self.loaded.metadata

    @property
    def ref(self) -> dict[str, str]:
        """Which model version answered, as every prediction response states it."""
        return {"model": self.name, "model_version": self.metadata.version}

    @property
    def vocabulary(self) -> Vocabulary:
        """The text model's vocabulary (only call on a ready sentiment model)."""
        vocabulary = self.loaded.vocabulary if self.loaded else None
        assert vocabulary is not None, f"{self.name} is not a loaded text model"
        return vocabulary

    async def infer(self, feeds: Tensors) -> Tensors:
        """Run rows through the model's batcher; the outputs are exactly these rows'."""
        assert self.batcher is not None, f"{self.name} is not ready"
        return await self.batcher.infer(feeds)


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
        """Load every model in turn, in a worker thread; failures are recorded, never raised."""
        for served in self.models.values():
            await self._load(served)
        ready = [m.name for m in self.models.values() if m.status == "ready"]
        logger.info("%d of %d models ready: %s", len(ready), len(self.models), ", ".join(ready))

    async def close(self, timeout_s: float) -> None:
        """Drain every batcher (queued requests get up to `timeout_s` to finish)."""
        self.draining = True
        batchers = [m.batcher for m in self.models.values() if m.batcher is not None]
        await asyncio.gather(*(batcher.stop(timeout_s) for batcher in batchers))

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

    def resolve(self, endpoint: Endpoint, requested: str | None) -> ServedModel:
        """The ready model behind `endpoint?model=requested`, or the error to answer with."""
        name = endpoint.model_name(requested)
        served = self.models.get(name)
        if served is None or name not in self._served_by(endpoint):
            here = ", ".join(self._served_by(endpoint)) or "none"
            raise UnknownModel(
                f"model {name!r} is not served by {endpoint.path}; use model= one of "
                f"{endpoint.choices()} (served here: {here})"
            )
        if served.status != "ready":
            retry = RETRY_LOADING_S if served.status == "loading" else RETRY_FAILED_S
            detail = f": {served.error}" if served.error else ""
            raise NotReady(f"model {name} is {served.status}{detail}", retry_after_s=retry)
        return served

    def _served_by(self, endpoint: Endpoint) -> list[str]:
        # A model outside the short-name table is still served by the endpoint of its task.
        return [
            name
            for name, served in self.models.items()
            if name in endpoint.aliases.values()
            or (served.loaded is not None and served.metadata.task == endpoint.task)
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

    async def _load(self, served: ServedModel) -> None:
        if not served.versions:
            root = self.settings.model_repository
            self._fail(served, f"no version of {served.name} in {root}")
            return
        folder = version_dir(self.settings.model_repository, served.name, served.versions[-1])
        try:
            loaded = await asyncio.to_thread(
                load_model, folder, self.providers, intra_op_threads=self.settings.intra_op_threads
            )
        except ModelLoadError as exc:
            self._fail(served, str(exc))
            return
        except Exception as exc:  # a bug in loading must not take the other models down
            logger.exception("loading %s failed unexpectedly", served.name)
            self._fail(served, f"unexpected error: {exc}")
            return
        served.loaded = loaded
        self._forget_unusable(loaded.providers)
        if self.draining:  # shut down while this model loaded: start nothing new
            return
        served.batcher = self._batcher(loaded)
        served.batcher.start()
        served.status = "ready"
        self.metrics.model_ready.labels(served.name).set(1)
        logger.info(
            "%s version %s ready on %s", served.name, loaded.metadata.version, loaded.providers[0]
        )

    def _batcher(self, loaded: LoadedModel) -> DynamicBatcher:
        metadata = loaded.metadata
        delay_ms = self.settings.max_queue_delay_ms
        if delay_ms is None:
            delay_ms = metadata.batching.max_queue_delay_ms
        config = BatcherConfig(
            max_batch_size=metadata.batching.max_batch_size,
            max_queue_delay_s=delay_ms / 1000,
            queue_capacity=self.settings.queue_capacity,
            timeout_s=self.settings.request_timeout_s,
            coalesce=metadata.task != "digit-generation",
        )
        batcher = DynamicBatcher(metadata.name, loaded.run, config, self.metrics)
        self.metrics.watch_queue(metadata.name, lambda: batcher.queued_rows)
        return batcher

    def _forget_unusable(self, used: list[str]) -> None:
        lost = unusable(self.providers, used)
        if lost:
            logger.warning("%s cannot run on this host; models use %s", ", ".join(lost), used)
            self.providers = [name for name in self.providers if name not in lost]

    def _fail(self, served: ServedModel, reason: str) -> None:
        served.status = "failed"
        served.error = reason
        logger.error("model %s cannot be served: %s", served.name, reason)
