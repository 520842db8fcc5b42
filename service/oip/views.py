"""Read-only protocol views of a served model: metadata, Triton's model config, readiness."""

from __future__ import annotations

from contract.metadata import TensorSpec
from service.lifecycle import ModelVersion
from service.oip.datatypes import config_type, datatype_of
from service.oip.feeds import protocol_shape
from service.oip.schemas import (
    ConfigTensor,
    DynamicBatching,
    ModelConfig,
    ModelMetadataResponse,
    TensorMetadata,
)

PLATFORM = "onnxruntime_onnx"
BACKEND = "onnxruntime"


def model_metadata(model: ModelVersion) -> ModelMetadataResponse:
    """`GET /v2/models/{name}`: only the serving version exists for the protocol."""
    metadata = model.metadata
    return ModelMetadataResponse(
        name=model.name,
        versions=[metadata.version],
        platform=PLATFORM,
        inputs=[_tensor(spec) for spec in metadata.inputs],
        outputs=[_tensor(spec) for spec in metadata.outputs],
    )


def model_config(model: ModelVersion) -> ModelConfig:
    """`GET /v2/models/{name}/config`: dims without the batch axis, as Triton writes them."""
    config = model.batcher.config
    return ModelConfig(
        name=model.name,
        platform=PLATFORM,
        backend=BACKEND,
        max_batch_size=config.max_batch_rows,
        input=[_config_tensor(spec) for spec in model.metadata.inputs],
        output=[_config_tensor(spec) for spec in model.metadata.outputs],
        dynamic_batching=DynamicBatching(
            max_queue_delay_microseconds=round(config.max_queue_delay_s * 1_000_000)
        ),
    )


def _tensor(spec: TensorSpec) -> TensorMetadata:
    return TensorMetadata(
        name=spec.name, datatype=datatype_of(spec.dtype), shape=protocol_shape(spec)
    )


def _config_tensor(spec: TensorSpec) -> ConfigTensor:
    dims = [dim for dim in spec.shape if isinstance(dim, int)]
    return ConfigTensor(name=spec.name, data_type=config_type(datatype_of(spec.dtype)), dims=dims)
