"""`metadata.json`: everything the service needs to load, verify, feed and describe one model.

Written by the export stage beside each `model.onnx`, read by the service, the load generator and
the tests. Pydantic only, like the rest of the contract package.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1
ONNX_FILE = "model.onnx"
Dtype = Literal["float32", "float16", "int64"]
BATCH_AXIS = "batch"

Task = Literal["digit-classification", "sentiment", "digit-generation"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TensorSpec(_Strict):
    """One named model input or output; `shape` holds BATCH_AXIS for the dynamic batch axis."""

    name: str
    dtype: Dtype
    shape: list[int | str]

    def shape_for(self, batch: int) -> tuple[int, ...]:
        """`shape` with its named (batch) axis set to `batch`."""
        return tuple(batch if isinstance(dim, str) else dim for dim in self.shape)


class ImagePreprocessing(_Strict):
    """(N, 28, 28, 1) float32 = uint8 pixels * scale; MNIST polarity (light ink on dark)."""

    kind: Literal["image"] = "image"
    height: int = 28
    width: int = 28
    channels: int = 1
    scale: float = 1 / 255
    polarity: Literal["light-on-dark"] = "light-on-dark"
    ink_box: int = Field(
        20, description="MNIST fits the ink into this square, then centres by mass"
    )


class TextPreprocessing(_Strict):
    """Raw review → standardised words → vocabulary ids → fixed-length int64 row."""

    kind: Literal["text"] = "text"
    standardisation: list[str]
    vocabulary_file: str = "vocab.txt"
    vocabulary_sha256: str
    vocabulary_size: int
    sequence_length: int
    padding: Literal["pre"] = "pre"
    truncation: Literal["keep-last"] = "keep-last"


class NoisePreprocessing(_Strict):
    """Generator input: standard-normal noise; output tanh in [-1, 1] mapped to pixels."""

    kind: Literal["noise"] = "noise"
    latent_dim: int
    distribution: Literal["standard-normal"] = "standard-normal"
    conditional: bool
    output_to_pixels: Literal["(x + 1) * 127.5"] = "(x + 1) * 127.5"


Preprocessing = Annotated[
    ImagePreprocessing | TextPreprocessing | NoisePreprocessing, Field(discriminator="kind")
]


class Batching(_Strict):
    """Dynamic-batching defaults for this model; the service's settings may override them."""

    max_batch_size: int = 64
    max_queue_delay_ms: float = 1.0


class Parity(_Strict):
    """Keras vs onnxruntime on real test samples, as measured by the export stage."""

    samples: int
    max_abs_diff: float
    tolerance: float
    label_agreement: float
    keras_accuracy: float | None = None
    onnx_accuracy: float | None = None
    passed: bool


class Variant(_Strict):
    """A reduced-precision copy of the model, re-verified like the fp32 one."""

    precision: Literal["fp16", "int8"]
    file: str
    sha256: str
    size_bytes: int
    accuracy: float | None
    accuracy_delta: float | None
    latency_ms: dict[str, float]
    kept: bool
    reason: str


class TensorRTConfig(_Strict):
    """Options for onnxruntime's TensorrtExecutionProvider; used only where TensorRT exists."""

    fp16: bool = True
    engine_cache_dir: str = "trt-cache"
    timing_cache: bool = True
    min_batch: int = 1
    opt_batch: int = 16
    max_batch: int = 64


class ModelMetadata(_Strict):
    """Everything the service needs to load, verify, feed and describe one model version."""

    schema_version: Literal[1] = SCHEMA_VERSION
    name: str
    version: str
    task: Task
    architecture: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    labels: list[str]
    preprocessing: Preprocessing
    batching: Batching = Batching()
    tensorrt: TensorRTConfig = TensorRTConfig()
    training_config: dict[str, object]
    metrics: dict[str, float]
    parity: Parity
    variants: list[Variant] = []
    cpu_latency_ms: dict[str, float] = Field(
        default_factory=dict, description="median onnxruntime CPU latency by batch size"
    )
    opset: int
    onnx_file: str = ONNX_FILE
    onnx_sha256: str
    onnx_size_bytes: int
    source_keras_sha256: str
    created_at: datetime
    library_versions: dict[str, str]
