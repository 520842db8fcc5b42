"""Read-only views of the registry for the operations endpoints (/readyz, /v1/models)."""

from __future__ import annotations

from service.catalog import endpoint_for, endpoint_named, short_name
from service.registry import ModelRegistry, ServedModel
from service.schemas import BatchingInfo, ModelInfo, ModelState, ReadinessReport


def model_state(served: ServedModel) -> ModelState:
    """One model's line in /readyz."""
    current = served.current
    return ModelState(
        status=served.status,
        version=served.version,
        provider=current.loaded.providers[0] if current else None,
        error=served.error,
    )


def readiness_report(registry: ModelRegistry) -> ReadinessReport:
    """/readyz body."""
    readiness = registry.readiness()
    return ReadinessReport(
        ready=readiness.ready,
        draining=registry.draining,
        reason=readiness.reason,
        models={name: model_state(served) for name, served in registry.models.items()},
    )


def describe(served: ServedModel) -> ModelInfo:
    """/v1/models entry: status always; the metadata once the model has loaded."""
    named = endpoint_named(served.name)
    info = ModelInfo(
        name=served.name,
        short_name=short_name(served.name),
        endpoint=named.path if named else None,
        status=served.status,
        error=served.error,
        version=served.versions[-1] if served.versions else None,
        versions=served.versions,
    )
    if served.current is None:
        return info
    loaded = served.current.loaded
    metadata = loaded.metadata
    config = served.current.batcher.config
    return info.model_copy(
        update={
            "endpoint": endpoint_for(metadata.task).path,
            "version": metadata.version,
            "task": metadata.task,
            "architecture": metadata.architecture,
            "inputs": metadata.inputs,
            "outputs": metadata.outputs,
            "labels": metadata.labels,
            "providers": loaded.providers,
            "provider": loaded.providers[0],
            "batching": BatchingInfo(
                max_batch_size=config.max_batch_rows,
                max_queue_delay_ms=config.max_queue_delay_s * 1000,
                queue_capacity=config.queue_capacity,
            ),
            "metrics": metadata.metrics,
            "parity": metadata.parity,
            "variants": metadata.variants,
            "cpu_latency_ms": metadata.cpu_latency_ms,
            "onnx_sha256": metadata.onnx_sha256,
            "created_at": metadata.created_at,
        }
    )
