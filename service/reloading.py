"""Hot reload: serve a new version dropped into `models/<name>/<version>/` without a restart.

The new version is loaded, verified and warmed up beside the old one, then swapped in atomically
(`ModelRegistry.install`); requests already holding the old version finish on it. A version that
fails to load leaves the old one serving, and the error is reported. Triggered by
`POST /admin/reload` or, every `SERVING_RELOAD_INTERVAL_S`, by `poll`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal

from export.repository import version_dir, versions
from service.errors import NotReady
from service.loading import ModelLoadError
from service.registry import ModelRegistry, ServedModel

logger = logging.getLogger(__name__)

Outcome = Literal["reloaded", "unchanged", "failed"]


@dataclass(frozen=True)
class ReloadResult:
    """What a reload did to one model."""

    model: str
    outcome: Outcome
    version: str | None  # serving now
    previous_version: str | None
    error: str | None = None


async def reload_models(
    registry: ModelRegistry, names: list[str] | None = None, *, retry_rejected: bool = True
) -> list[ReloadResult]:
    """Serve the newest version on disk of each named model (default: all), one at a time.

    `retry_rejected=False` (the poller) skips a version that already failed, until its files
    change; an explicit reload always tries again.
    """
    if registry.draining:
        raise NotReady("the server is shutting down; nothing is reloaded", retry_after_s=5)
    targets = [registry.get(name) for name in names] if names else list(registry.models.values())
    return [await _reload(registry, served, retry_rejected) for served in targets]


async def poll(registry: ModelRegistry, interval_s: float) -> None:
    """Reload whatever changed on disk every `interval_s`, until cancelled."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await reload_models(registry, retry_rejected=False)
        except NotReady:
            return


async def _reload(registry: ModelRegistry, served: ServedModel, retry: bool) -> ReloadResult:
    async with registry.lock:
        previous = served.version
        root = registry.settings.model_repository
        served.versions = versions(root, served.name)
        if not served.versions:
            message = f"no version of {served.name} in {root}"
            return _failed(served, previous, "none", message)
        newest = served.versions[-1]
        if newest == previous:
            return ReloadResult(served.name, "unchanged", previous, previous)
        stamp = _fingerprint(registry, served.name, newest)
        if not retry and stamp == served.rejected:
            return ReloadResult(served.name, "unchanged", previous, previous, served.error)
        try:
            version = await registry.open_version(served.name, newest)
        except ModelLoadError as exc:
            served.rejected = stamp
            return _failed(served, previous, newest, str(exc))
        registry.install(served, version)
        return ReloadResult(served.name, "reloaded", newest, previous)


def _failed(served: ServedModel, previous: str | None, newest: str, reason: str) -> ReloadResult:
    keeping = f"; still serving version {previous}" if previous else ""
    served.error = f"version {newest} cannot be served: {reason}{keeping}"
    if served.current is None:
        served.status = "failed"
    logger.error("model %s %s", served.name, served.error)
    return ReloadResult(served.name, "failed", previous, previous, served.error)


def _fingerprint(registry: ModelRegistry, name: str, version: str) -> str:
    """The version and its files' latest change: a re-copied version gets another try."""
    folder = version_dir(registry.settings.model_repository, name, version)
    try:
        changed = max((path.stat().st_mtime_ns for path in folder.iterdir()), default=0)
    except OSError:  # removed or still being copied: the next look decides
        changed = 0
    return f"{version}@{changed}"
