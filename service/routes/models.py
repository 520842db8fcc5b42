"""GET /v1/models: what is served, how well it did in training, and where it runs."""

from __future__ import annotations

from fastapi import APIRouter

from service.dependencies import RegistryDep
from service.openapi import error_responses
from service.schemas import ModelInfo, ModelList
from service.views import describe

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("")
async def list_models(registry: RegistryDep) -> ModelList:
    """Every configured model with its status, versions, tensors, labels, metrics and provider."""
    return ModelList(models=[describe(served) for served in registry.models.values()])


@router.get("/{name}", responses=error_responses(404))
async def get_model(name: str, registry: RegistryDep) -> ModelInfo:
    """One model by repository name (`digits-cnn`) or short name (`cnn`)."""
    return describe(registry.get(name))
