"""The protocol's JSON bodies: server and model metadata, inference requests, Triton's config."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Parameters = dict[str, Any]


class ServerMetadata(BaseModel):
    """`GET /v2`."""

    name: str
    version: str
    extensions: list[str]


class ServerLive(BaseModel):
    """`GET /v2/health/live`."""

    live: bool


class ProtocolError(BaseModel):
    """Every error under /v2, as the protocol fixes it."""

    error: str = Field(description="what went wrong, for the caller")


class ServerReady(BaseModel):
    """`GET /v2/health/ready`; `reason` says why not."""

    ready: bool
    reason: str | None = None


class ModelReady(BaseModel):
    """`GET /v2/models/{name}/ready`."""

    name: str
    version: str | None
    ready: bool


class TensorMetadata(BaseModel):
    """One input or output: `shape` has -1 for the batch axis."""

    name: str
    datatype: str
    shape: list[int]


class ModelMetadataResponse(BaseModel):
    """`GET /v2/models/{name}`: the served version and its tensors."""

    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]
    parameters: Parameters = Field(default_factory=dict)


class RequestInput(BaseModel):
    """One input tensor: its data in JSON (`data`) or in the binary section (`binary_data_size`)."""

    model_config = ConfigDict(extra="ignore")

    name: str
    shape: list[int]
    datatype: str
    parameters: Parameters = Field(default_factory=dict)
    data: Any = None


class RequestOutput(BaseModel):
    """One requested output; `parameters.binary_data` asks for it in the binary section."""

    model_config = ConfigDict(extra="ignore")

    name: str
    parameters: Parameters = Field(default_factory=dict)


class InferRequest(BaseModel):
    """`POST /v2/models/{name}/infer`: the JSON part of the body."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    parameters: Parameters = Field(default_factory=dict)
    inputs: list[RequestInput]
    outputs: list[RequestOutput] | None = None


class ConfigTensor(BaseModel):
    """A tensor of Triton's model config: `dims` without the batch axis."""

    name: str
    data_type: str
    dims: list[int]


class DynamicBatching(BaseModel):
    """Triton's dynamic_batching block, from our batcher's settings."""

    max_queue_delay_microseconds: int
    preferred_batch_size: list[int] = Field(default_factory=list)


class ModelConfig(BaseModel):
    """`GET /v2/models/{name}/config`, as far as perf_analyzer and Triton's clients read it."""

    name: str
    platform: str
    backend: str
    max_batch_size: int
    input: list[ConfigTensor]
    output: list[ConfigTensor]
    dynamic_batching: DynamicBatching


class StatDuration(BaseModel):
    """A count and its cumulative nanoseconds."""

    count: int = 0
    ns: int = 0


class InferenceStats(BaseModel):
    """Triton's per-model inference_stats (the cache fields are always zero: we cache nothing)."""

    success: StatDuration
    fail: StatDuration
    queue: StatDuration
    compute_input: StatDuration
    compute_infer: StatDuration
    compute_output: StatDuration
    cache_hit: StatDuration = StatDuration()
    cache_miss: StatDuration = StatDuration()


class ModelStatistics(BaseModel):
    """One model version's statistics."""

    name: str
    version: str
    last_inference: int
    inference_count: int
    execution_count: int
    inference_stats: InferenceStats
    batch_stats: list[Any] = Field(default_factory=list)


class StatisticsResponse(BaseModel):
    """`GET /v2/models/stats` and `/v2/models/{name}/stats`."""

    model_stats: list[ModelStatistics]
