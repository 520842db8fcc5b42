"""Hot reload: serve a new version dropped into `models/<name>/<version>/` without a restart.

`ModelRegistry.reload` does the work: the new version is loaded, verified and warmed up beside the
old one, then swapped in atomically; requests already holding the old version finish on it, and a
version that fails to load leaves the old one serving. This module says when: on
`POST /admin/reload` (`reload_models`) or every `SERVING_RELOAD_INTERVAL_S` (`poll`).
"""

from __future__ import annotations

import asyncio
import logging

from service.errors import NotReady
from service.registry import ModelRegistry, ReloadResult

logger = logging.getLogger(__name__)


async def reload_models(
    registry: ModelRegistry, names: list[str] | None = None, *, retry_rejected: bool = True
) -> list[ReloadResult]:
    """Serve the newest version on disk of each named model (full or short; default: all) in turn.

    `retry_rejected=False` (the poller) skips a version that already failed, until its files
    change; an explicit reload always tries again.
    """
    if registry.draining:
        raise NotReady("the server is shutting down; nothing is reloaded", retry_after_s=5)
    targets = names or list(registry.models)
    return [await registry.reload(name, retry_rejected=retry_rejected) for name in targets]


async def poll(registry: ModelRegistry, interval_s: float) -> None:
    """Reload whatever changed on disk every `interval_s`, until the server drains.

    Polling that ends any other way (a bug, a cancellation) makes /readyz answer 503: new versions
    dropped into the repository would otherwise silently never be served.
    """
    try:
        await _poll_until_draining(registry, interval_s)
    except BaseException as exc:  # cancellation included: only draining may end the polling
        if not registry.draining:
            registry.poller_stopped(repr(exc))
        raise


async def _poll_until_draining(registry: ModelRegistry, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        for name in list(registry.models):
            try:
                await reload_models(registry, [name], retry_rejected=False)
            except NotReady:
                return
            except Exception:
                # A poller that died would leave stale versions serving and nothing in the log:
                # say why, with the traceback, and look again (and at the other models) anyway.
                folder = registry.settings.model_repository / name
                logger.exception("polling %s in %s for a new version failed", name, folder)
