"""The Open Inference Protocol v2 (KServe v2 / Triton HTTP) under /v2, over the same core.

Inference takes the human routes' path: registry resolve, admission before the body, the pinned
version's batcher, the same metrics, API keys and body limits. `health_router` carries what probes
and discovery need (no API key, like /healthz); `router` the models and inference.
"""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from service.admission import admitted_version
from service.catalog import endpoint_for
from service.dependencies import MetricsDep, RegistryDep, settings_of
from service.errors import ServiceError
from service.lifecycle import ModelVersion
from service.oip.codec import HEADER_LENGTH, decode_request, encode_outputs
from service.oip.errors import InvalidTensor, OipRoute, protocol_error
from service.oip.feeds import model_feeds
from service.oip.models import ready_version, serving_model
from service.oip.schemas import (
    InferRequest,
    ModelConfig,
    ModelMetadataResponse,
    ModelReady,
    ProtocolError,
    ServerLive,
    ServerMetadata,
    ServerReady,
    StatisticsResponse,
)
from service.oip.statistics import model_statistics
from service.oip.views import model_config, model_metadata
from service.registry import ModelRegistry
from service.responses import OrjsonResponse
from service.sentiment import THREAD_ABOVE_CHARS
from service.tensor_rows import Tensors

SERVER_NAME = "digits-sentiment-serving"
EXTENSIONS = ["binary_tensor_data", "model_configuration", "statistics"]
TAGS: list[str | Enum] = ["open inference protocol v2"]

health_router = APIRouter(prefix="/v2", tags=TAGS, route_class=OipRoute)
# What any model route may answer: a bad tensor or request, auth, unknown model or version, body
# limits and deadline, overload, not ready; all in the protocol's shape.
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ProtocolError, "description": description}
    for status, description in {
        400: "a tensor or request that does not fit the model",
        401: "API key missing or not valid, when SERVING_API_KEYS is set",
        404: "unknown model, version or route",
        408: "the body did not arrive within SERVING_BODY_TIMEOUT_S",
        413: "body or batch over its limit",
        429: "overloaded; retry after Retry-After seconds",
        503: "model not ready, past its deadline, or shutting down",
    }.items()
}
router = APIRouter(prefix="/v2/models", tags=TAGS, route_class=OipRoute, responses=ERRORS)

ModelName = Annotated[str, Path(description="the repository's name, e.g. digits-cnn")]
Version = Annotated[str, Path(description="the version served (another is 404)")]


@health_router.get("")
async def server_metadata(request: Request) -> ServerMetadata:
    """The server's name, version and protocol extensions."""
    return ServerMetadata(name=SERVER_NAME, version=request.app.version, extensions=EXTENSIONS)


@health_router.get("/health/live")
async def server_live() -> ServerLive:
    """200 while the process serves HTTP."""
    return ServerLive(live=True)


@health_router.get("/health/ready", responses={503: {"model": ServerReady}})
async def server_ready(registry: RegistryDep) -> Response:
    """200 once every model is loaded, verified and warm; 503 (with the reason) until then."""
    readiness = registry.readiness()
    body = ServerReady(ready=readiness.ready, reason=readiness.reason)
    return OrjsonResponse(body.model_dump(exclude_none=True), 200 if readiness.ready else 503)


@router.get("/stats")
async def all_statistics(registry: RegistryDep, metrics: MetricsDep) -> StatisticsResponse:
    """Inference counts and cumulative times of every serving model (Triton's statistics)."""
    versions = {name: m.version for name, m in registry.models.items() if m.version is not None}
    return StatisticsResponse(model_stats=model_statistics(metrics, versions))


@router.get("/{name}")
@router.get("/{name}/versions/{version}")
async def metadata(
    registry: RegistryDep, name: ModelName, version: Version | None = None
) -> ModelMetadataResponse:
    """The model's served version and its tensors (-1: the batch axis)."""
    return model_metadata(ready_version(registry, name, version))


@router.get("/{name}/ready", responses={503: {"model": ModelReady}})
@router.get("/{name}/versions/{version}/ready", responses={503: {"model": ModelReady}})
async def model_ready(
    registry: RegistryDep, name: ModelName, version: Version | None = None
) -> Response:
    """200 when the model (version) serves; 503 while it loads or after it failed."""
    served = serving_model(registry, name, version)
    ready = served.current is not None and not registry.draining
    body = ModelReady(name=served.name, version=served.version, ready=ready)
    return OrjsonResponse(body.model_dump(), 200 if ready else 503)


@router.get("/{name}/config")
@router.get("/{name}/versions/{version}/config")
async def config(
    registry: RegistryDep, name: ModelName, version: Version | None = None
) -> ModelConfig:
    """Triton's model configuration: max_batch_size, tensors without the batch axis, batching."""
    return model_config(ready_version(registry, name, version))


@router.get("/{name}/stats")
@router.get("/{name}/versions/{version}/stats")
async def statistics(
    registry: RegistryDep, metrics: MetricsDep, name: ModelName, version: Version | None = None
) -> StatisticsResponse:
    """Inference counts and cumulative times of the model, all routes together."""
    served = ready_version(registry, name, version)
    return StatisticsResponse(
        model_stats=model_statistics(metrics, {served.name: served.metadata.version})
    )


@router.post("/{name}/infer")
@router.post("/{name}/versions/{version}/infer")
async def infer(request: Request, name: ModelName, version: Version | None = None) -> Response:
    """Run the model on named tensors: JSON `data`, or Triton's binary tensor extension.

    Send the model's own inputs (see `GET /v2/models/{name}`); sentiment models also take a BYTES
    input `text` with one raw review per element. Errors are `{"error": "<message>"}`.
    """
    return await run_inference(request, name, version)


async def infer_in_protocol_shape(request: Request) -> Response:
    """`infer` for a plain Starlette route (`service/fast_routes.py`): path parameters read here,
    errors answered in the protocol's shape as `OipRoute` does."""
    try:
        return await run_inference(
            request, request.path_params["name"], request.path_params.get("version")
        )
    except ServiceError as exc:
        return protocol_error(exc)


async def run_inference(request: Request, name: str, version: str | None) -> Response:
    """Resolve and admit `name` (at `version`), parse the tensors, run them, answer."""
    registry: ModelRegistry = request.app.state.registry
    task = ready_version(registry, name, version).metadata.task
    async with admitted_version(request, endpoint_for(task), name) as model:
        parsed, feeds = await _parse(request, model)
        outputs = await model.infer(feeds)
    return _answer(model, parsed, outputs)


async def _parse(request: Request, model: ModelVersion) -> tuple[InferRequest, Tensors]:
    """The request's JSON part and the model's feeds; large bodies are parsed off the event loop."""
    body = await request.body()  # already read by admission
    settings = settings_of(request)
    limits = (settings.max_instances_per_request, settings.max_text_chars)
    header_length = request.headers.get(HEADER_LENGTH)
    if len(body) > THREAD_ABOVE_CHARS:
        return await asyncio.to_thread(_feeds, model, body, header_length, *limits)
    return _feeds(model, body, header_length, *limits)


def _feeds(
    model: ModelVersion, body: bytes, header_length: str | None, max_rows: int, max_chars: int
) -> tuple[InferRequest, Tensors]:
    parsed, tensors = decode_request(body, header_length)
    return parsed, model_feeds(model, tensors, max_rows, max_chars)


def _answer(model: ModelVersion, parsed: InferRequest, outputs: Tensors) -> Response:
    """The response: JSON, or the JSON header and the binary outputs the client asked for."""
    wanted = _requested_outputs(model, parsed, outputs)
    everything_binary = bool(parsed.parameters.get("binary_data_output", False))
    binary = {
        name
        for name, parameters in wanted.items()
        if parameters.get("binary_data", everything_binary)
    }
    entries, chunks = encode_outputs({name: outputs[name] for name in wanted}, binary)
    body: dict[str, object] = {
        "model_name": model.name,
        "model_version": model.metadata.version,
        "outputs": entries,
    }
    if parsed.id is not None:
        body["id"] = parsed.id
    header = OrjsonResponse(body).body
    if not chunks:
        return Response(header, media_type="application/json")
    headers = {HEADER_LENGTH: str(len(header))}
    return Response(
        b"".join([header, *chunks]), media_type="application/octet-stream", headers=headers
    )


def _requested_outputs(
    model: ModelVersion, parsed: InferRequest, outputs: Tensors
) -> dict[str, dict[str, object]]:
    """Output name → its parameters: those asked for, else every output of the model."""
    if not parsed.outputs:
        return {name: {} for name in outputs}
    unknown = [o.name for o in parsed.outputs if o.name not in outputs]
    if unknown:
        raise InvalidTensor(
            f"unknown output {unknown[0]!r}: model {model.name} answers {', '.join(outputs)}"
        )
    return {o.name: o.parameters for o in parsed.outputs}
