"""Which model version a /v2 path names: the repository's name, and only the serving version."""

from __future__ import annotations

from service.errors import NotReady, UnknownModel, echo
from service.lifecycle import ModelVersion
from service.registry import RETRY_FAILED_S, RETRY_LOADING_S, ModelRegistry, ServedModel


def serving_model(registry: ModelRegistry, name: str, version: str | None) -> ServedModel:
    """The configured model `name`; 404 if unknown or if `version` is not the one served.

    The protocol addresses versions, but a hot reload replaces a version rather than serving
    several, so any other version number is unknown here.
    """
    served = registry.get(name)
    if version is not None and version != served.version:
        serving = f"version {served.version}" if served.version else "no version yet"
        raise UnknownModel(
            f"model {served.name} version {echo(version)} is not served here; it serves {serving}"
        )
    return served


def ready_version(registry: ModelRegistry, name: str, version: str | None) -> ModelVersion:
    """The version serving `name`, or 503 while it loads (or failed)."""
    served = serving_model(registry, name, version)
    if served.current is None:
        retry = RETRY_LOADING_S if served.status == "loading" else RETRY_FAILED_S
        detail = f": {served.error}" if served.error else ""
        raise NotReady(f"model {served.name} is {served.status}{detail}", retry_after_s=retry)
    return served.current
