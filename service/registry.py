"""The served models: what is configured, what serves, and how requests reach each one.

The registry owns each model's state and the one path that changes it (`reload`, which start-up,
the poller and `POST /admin/reload` all take). A model that fails to load is logged and reported
(not ready) while the others keep serving.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Literal

import onnxruntime as ort

from contract.repository import model_names, version_dir, versions
from service.catalog import Endpoint, short_name
from service.errors import NotReady, UnknownModel, echo

# Re-exported: the request handlers (admission, digits, sentiment, generation) import it from here.
from service.lifecycle import ModelVersion, fingerprint, open_version
from service.loading import ModelLoadError, without_repository
from service.metrics import Metrics
from service.providers import CPU, choose_providers, unusable
from service.settings import Settings

logger = logging.getLogger(__name__)

Status = Literal["loading", "ready", "failed"]
Outcome = Literal["reloaded", "unchanged", "failed"]
# Seconds a client should wait before asking again, by why the service is not ready.
RETRY_LOADING_S = 5.0
RETRY_FAILED_S = 30.0


@dataclass
class ServedModel:
    """One configured model: its status and, once ready, the version it serves.

    Only `ModelRegistry` changes it, under its lock; everything else reads it.
    """

    name: str
    versions: list[str] = field(default_factory=list)  # on disk, oldest first
    status: Status = "loading"
    error: str | None = None
    current: ModelVersion | None = None
    # Fingerprint of the newest version that failed to load: polling skips it until its files
    # change, so a broken version is tried (and logged) once, not at every poll.
    rejected: str | None = None

    @property
    def version(self) -> str | None:
        """The version being served, if any."""
        return self.current.metadata.version if self.current else None


@dataclass(frozen=True)
class ReloadResult:
    """What a reload did to one model."""

    model: str
    outcome: Outcome
    version: str | None  # serving now
    previous_version: str | None
    error: str | None = None


@dataclass(frozen=True)
class Readiness:
    """Whether every configured model can take traffic, and if not, why."""

    ready: bool
    reason: str | None
    retry_after_s: float | None


class ModelRegistry:
    """Loads and reloads the configured models and resolves `?model=` to a ready one."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.models: dict[str, ServedModel] = {}
        self.draining = False
        self.providers: list[str] = [CPU]
        self.poller_failure: str | None = None  # why polling stopped before the server drained
        # One load at a time: the start-up load, an admin reload and the poller never overlap.
        self._lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()

    def discover(self) -> None:
        """List the models to serve (status "loading"); no file is opened beyond listings."""
        root = self.settings.model_repository
        try:
            names = self.settings.models or model_names(root)
        except OSError as exc:  # readiness then says there is nothing to serve
            logger.error("the model repository %s cannot be listed: %s", root.resolve(), exc)
            names = []
        # Versions are listed when each model loads, where an unreadable folder is its failure.
        self.models = {name: ServedModel(name) for name in names}
        self.providers = choose_providers(self.settings.providers, ort.get_available_providers())
        for name in names:
            self.metrics.model_ready.labels(name).set(0)
        if not names:
            logger.error("no models found in %s", root.resolve())

    async def load_all(self) -> None:
        """Serve the newest version of every model in turn; failures are recorded, never raised."""
        for name in self.models:
            await self.reload(name)
        ready = [f"{name} on {provider}" for name, provider in self.providers_in_use().items()]
        logger.info("%d of %d models ready: %s", len(ready), len(self.models), ", ".join(ready))

    async def reload(self, name: str, *, retry_rejected: bool = True) -> ReloadResult:
        """Serve the newest version on disk of model `name` (full or short) if it is not serving.

        The one path from disk to traffic: list the versions, open the newest (load, verify, warm
        up), install it, retire the one it replaces. `retry_rejected=False` (the poller) skips a
        version that already failed until its files change; an explicit reload always retries.
        """
        served = self.get(name)
        async with self._lock:
            return await self._serve_newest(served, retry_rejected)

    async def close(self, timeout_s: float) -> None:
        """Drain every batcher (queued requests get up to `timeout_s` to finish)."""
        self.draining = True
        serving = [m.current for m in self.models.values() if m.current is not None]
        stops = [version.batcher.stop(timeout_s) for version in serving]
        await asyncio.gather(*stops, *self._retiring)

    def begin_drain(self) -> None:
        """Report not ready from now on so load balancers stop sending traffic; keep serving."""
        self.draining = True

    def poller_stopped(self, cause: str) -> None:
        """Report not ready from now on: versions dropped into the repository would go unserved."""
        failure = f"the model poller stopped ({cause}); new versions on disk wait for a restart"
        logger.error("%s", failure)
        self.poller_failure = without_repository(failure, self.settings.model_repository)

    def get(self, name: str) -> ServedModel:
        """A configured model by repository name or short name, whatever its status."""
        for served in self.models.values():
            if name in (served.name, short_name(served.name)):
                return served
        known = ", ".join(self.models) or "none"
        raise UnknownModel(f"model {echo(name)} is not served here; served models: {known}")

    def resolve(self, endpoint: Endpoint, requested: str | None) -> ModelVersion:
        """The version serving `endpoint?model=requested`, or the error to answer with."""
        name = endpoint.model_name(requested)
        served = self.models.get(name)
        if served is None or name not in self._served_by(endpoint):
            here = ", ".join(self._served_by(endpoint)) or "none"
            raise UnknownModel(
                f"model {echo(name)} is not served by {endpoint.path}; use model= one of "
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
        if self.poller_failure:
            return Readiness(False, self.poller_failure, RETRY_FAILED_S)
        if not self.models:  # the log names the folder; callers see no server path
            return Readiness(False, "no models to serve in the model repository", RETRY_FAILED_S)
        failed = [f"{m.name} ({m.error})" for m in self.models.values() if m.status == "failed"]
        if failed:
            return Readiness(False, "models failed to load: " + "; ".join(failed), RETRY_FAILED_S)
        loading = [m.name for m in self.models.values() if m.status == "loading"]
        if loading:
            return Readiness(False, "models still loading: " + ", ".join(loading), RETRY_LOADING_S)
        on_cpu = [name for name, provider in self.providers_in_use().items() if provider == CPU]
        if self.settings.require_gpu and on_cpu:
            reason = (
                f"SERVING_REQUIRE_GPU is set, but {', '.join(on_cpu)} run on the CPU (onnxruntime "
                f"offers {', '.join(ort.get_available_providers())} here)"
            )
            return Readiness(False, reason, RETRY_FAILED_S)
        return Readiness(True, None, None)

    def providers_in_use(self) -> dict[str, str]:
        """The execution provider each serving model really got, by model name."""
        return {
            name: served.current.loaded.providers[0]
            for name, served in self.models.items()
            if served.current is not None
        }

    async def _serve_newest(self, served: ServedModel, retry_rejected: bool) -> ReloadResult:
        """List → open → install (the old version retires), or record why not; under the lock."""
        previous = served.version
        try:
            served.versions = versions(self.settings.model_repository, served.name)
        except OSError as exc:  # an unreadable folder fails the reload; what serves goes on
            reason = f"its folder cannot be listed: {exc}"
            return self._skip(served, reason, retry_rejected) or self._fail(served, None, reason)
        newest = served.versions[-1] if served.versions else None
        if newest is not None and newest == previous:
            return ReloadResult(served.name, "unchanged", previous, previous)
        stamp = self._fingerprint(served.name, newest)
        if skipped := self._skip(served, stamp, retry_rejected):
            return skipped
        try:
            version = await self._open(served.name, newest)
        except ModelLoadError as exc:
            return self._fail(served, newest, str(exc), stamp)
        self._install(served, version)
        return ReloadResult(served.name, "reloaded", newest, previous)

    async def _open(self, name: str, version: str | None) -> ModelVersion:
        root = self.settings.model_repository
        if version is None:
            raise ModelLoadError(f"no version folder (<number>/metadata.json) in {root / name}")
        folder = version_dir(root, name, version)
        opened = await open_version(folder, self.providers, self.settings, self.metrics)
        self._forget_unusable(opened.loaded.providers)
        return opened

    def _install(self, served: ServedModel, version: ModelVersion) -> None:
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
        provider = version.loaded.providers[0]
        logger.info("%s version %s ready on %s", served.name, version.metadata.version, provider)
        if previous is not None:
            task = asyncio.create_task(self._retire(previous))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    async def _retire(self, previous: ModelVersion) -> None:
        await previous.retire(self.settings.drain_timeout_s)
        logger.info("%s version %s retired", previous.name, previous.metadata.version)

    def _skip(self, served: ServedModel, stamp: str, retry_rejected: bool) -> ReloadResult | None:
        """The poller's "unchanged" when what `stamp` names already failed; None to go on."""
        if retry_rejected or stamp != served.rejected:
            return None
        return ReloadResult(served.name, "unchanged", served.version, served.version, served.error)

    def _fail(
        self, served: ServedModel, version: str | None, reason: str, stamp: str | None = None
    ) -> ReloadResult:
        """Record why `version` cannot be served (`stamp`: what failed, default the reason).

        A version already serving keeps serving. The log has the full reason; callers see it
        without the repository's location.
        """
        subject = f"version {version} cannot be served" if version else "cannot be served"
        keeping = f"; still serving version {served.version}" if served.current else ""
        shown = without_repository(reason, self.settings.model_repository)
        served.error = f"{subject}: {shown}{keeping}"
        served.rejected = stamp or reason
        if served.current is None:
            served.status = "failed"
        logger.error("model %s %s: %s%s", served.name, subject, reason, keeping)
        return ReloadResult(served.name, "failed", served.version, served.version, served.error)

    def _fingerprint(self, name: str, version: str | None) -> str:
        # With no version on disk there are no files to stamp; the first one dropped in changes it.
        if version is None:
            return "no version"
        return fingerprint(version_dir(self.settings.model_repository, name, version))

    def _forget_unusable(self, used: list[str]) -> None:
        lost = unusable(self.providers, used)
        if lost:
            logger.warning("%s cannot run on this host; models use %s", ", ".join(lost), used)
            self.providers = [name for name in self.providers if name not in lost]
