"""Operations: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from service.dependencies import MetricsDep, RegistryDep
from service.errors import NotReady
from service.metrics import CONTENT_TYPE
from service.schemas import ErrorEnvelope, Health, ReadinessReport
from service.views import readiness_report

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> Health:
    """Liveness: the process answers. Touches no model, so a long inference cannot fail it."""
    return Health()


@router.get(
    "/readyz",
    responses={
        503: {"model": ErrorEnvelope, "description": "not ready; see `reason` and `models`"}
    },
)
async def readyz(registry: RegistryDep) -> ReadinessReport:
    """Readiness: 200 only when every configured model is loaded, checksum-verified and warmed up.

    Otherwise 503 with `Retry-After`, the reason and each model's status (also while draining).
    """
    readiness = registry.readiness()
    report = readiness_report(registry)
    if not readiness.ready:
        raise NotReady(
            readiness.reason or "not ready",
            retry_after_s=readiness.retry_after_s,
            details=report.model_dump(mode="json"),
        )
    return report


@router.get("/metrics", response_class=Response)
async def metrics(metrics: MetricsDep) -> Response:
    """Prometheus metrics (text exposition format)."""
    return Response(metrics.render(), media_type=CONTENT_TYPE)
