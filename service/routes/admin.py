"""POST /admin/reload: serve new model versions without a restart (needs SERVING_ADMIN_TOKEN)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.dependencies import RegistryDep
from service.errors import ReloadFailed
from service.openapi import error_responses
from service.reloading import reload_models
from service.schemas import ModelReload, ReloadReport

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/reload", responses=error_responses(401, 403, 404, 409, 503))
async def reload(
    registry: RegistryDep,
    model: Annotated[
        str | None, Query(description="reload only this model (full or short name); default all")
    ] = None,
) -> ReloadReport:
    """Load the newest version in the repository of one model, or of every model, and serve it.

    Send the admin token in `X-Admin-Token`. Each new version is verified and warmed up beside the
    one serving, then swapped in; requests in flight finish on the version they started on. A
    version that fails to load, or a model folder that cannot be listed, leaves the previous
    version serving and answers 409 with each model's outcome. A reload asked for while another
    runs waits for it, then looks again. `GET /v1/models` shows the version being served.
    """
    results = await reload_models(registry, [model] if model else None)
    report = ReloadReport(
        models=[ModelReload.model_validate(result, from_attributes=True) for result in results]
    )
    failed = [result for result in results if result.outcome == "failed"]
    if failed:
        raise ReloadFailed(
            "; ".join(f"{result.model}: {result.error}" for result in failed),
            details=report.model_dump(mode="json"),
        )
    return report
