"""Request and response models: the API's documented shapes (OpenAPI) and its typed responses.

Request models document bodies that `inputs.py` parses itself with orjson and numpy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contract.metadata import Parity, TensorSpec, Variant

# --- requests (documentation) -----------------------------------------------------------------
# As strict as the parser in inputs.py, so that the OpenAPI schema says exactly what is accepted
# (a fuzzer generating from it then expects 2xx for everything it calls valid).

Pixel = Annotated[float, Field(ge=0, le=255)]
Review = Annotated[str, Field(min_length=1, max_length=100_000, pattern=r"\S")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PixelsInstance(_Request):
    """A digit as 28 rows of 28 pixel values, 0 = background to 255 = ink (MNIST polarity)."""

    pixels: list[Annotated[list[Pixel], Field(min_length=28, max_length=28)]] = Field(
        min_length=28, max_length=28
    )


class ImageInstance(_Request):
    """A digit as a base64 image file (PNG, JPEG, GIF, BMP, WebP, TIFF; a data: URL is fine).

    Any size and polarity: it is cropped, scaled and centred like MNIST before classification.
    """

    image: str


class DigitBatchRequest(_Request):
    """Several digits in one request (SERVING_MAX_INSTANCES_PER_REQUEST); pixels or images."""

    instances: list[PixelsInstance | ImageInstance] = Field(min_length=1, max_length=64)


class TextRequest(_Request):
    """One review (up to SERVING_MAX_TEXT_CHARS characters, not only whitespace)."""

    text: Review


class TextBatchRequest(_Request):
    """Several reviews in one request (up to SERVING_MAX_INSTANCES_PER_REQUEST)."""

    texts: list[Review] = Field(min_length=1, max_length=64)


# --- responses --------------------------------------------------------------------------------


class ModelRef(BaseModel):
    """Which model version answered."""

    model: str = Field(examples=["digits-cnn"])
    model_version: str = Field(examples=["1"])


class DigitScores(BaseModel):
    """The predicted digit, its probability, and the probability of each digit 0–9."""

    digit: int = Field(ge=0, le=9, examples=[7])
    confidence: float = Field(examples=[0.998])
    probabilities: list[float] = Field(min_length=10, max_length=10)


class DigitPrediction(DigitScores, ModelRef):
    """Prediction for a single digit."""


class DigitBatchPrediction(ModelRef):
    """Predictions for `instances`, in order."""

    predictions: list[DigitScores]


class SentimentScore(BaseModel):
    """The label and P(positive)."""

    label: Literal["positive", "negative"]
    score: float = Field(ge=0, le=1, examples=[0.93], description="P(positive)")


class SentimentPrediction(SentimentScore, ModelRef):
    """Sentiment of a single text."""


class SentimentBatchPrediction(ModelRef):
    """Sentiments of `texts`, in order."""

    predictions: list[SentimentScore]


class GeneratedImage(BaseModel):
    """One generated digit."""

    png: str = Field(description="base64 PNG, 28×28 grey")
    pixels: list[list[int]] = Field(description="28 rows of 28 values 0–255, light ink on dark")
    digit: int | None = Field(description="the digit asked of a conditional model, else null")


class GeneratedDigits(ModelRef):
    """Generated digits and the seed that reproduces them."""

    images: list[GeneratedImage]
    seed: int


class ErrorDetail(BaseModel):
    """What went wrong and how to fix it."""

    code: str = Field(examples=["invalid_request"])
    message: str


class ErrorEnvelope(BaseModel):
    """Every error response has this shape."""

    error: ErrorDetail


# --- operations -------------------------------------------------------------------------------


class Health(BaseModel):
    """The process is alive (says nothing about the models)."""

    status: Literal["ok"] = "ok"


class ModelState(BaseModel):
    """One model's readiness."""

    status: Literal["loading", "ready", "failed"]
    version: str | None
    provider: str | None
    error: str | None


class ReadinessReport(BaseModel):
    """Whether the service can take traffic; 503 responses add the error envelope."""

    ready: bool
    draining: bool
    reason: str | None
    models: dict[str, ModelState]


class BatchingInfo(BaseModel):
    """Dynamic batching in effect for a model."""

    max_batch_size: int
    max_queue_delay_ms: float
    queue_capacity: int


class ModelInfo(BaseModel):
    """A served model: what it is, what it expects and returns, how good it is, where it runs."""

    name: str
    short_name: str | None = Field(description="the `?model=` value of its endpoint")
    endpoint: str | None
    status: Literal["loading", "ready", "failed"]
    error: str | None = Field(
        description="why it cannot be served, or why a newer version on disk was not loaded"
    )
    version: str | None = Field(description="the version being served")
    versions: list[str] = Field(description="versions present in the repository")
    task: str | None = None
    architecture: str | None = None
    inputs: list[TensorSpec] = []
    outputs: list[TensorSpec] = []
    labels: list[str] = []
    providers: list[str] = Field([], description="onnxruntime execution providers, best first")
    provider: str | None = Field(None, description="the execution provider in use")
    batching: BatchingInfo | None = None
    metrics: dict[str, float] = Field({}, description="test-set metrics measured at training")
    parity: Parity | None = Field(None, description="Keras vs onnxruntime check at export")
    variants: list[Variant] = Field([], description="reduced-precision copies checked at export")
    cpu_latency_ms: dict[str, float] = Field({}, description="export-time CPU latency by batch")
    onnx_sha256: str | None = None
    created_at: datetime | None = None


class ModelList(BaseModel):
    """Every configured model."""

    models: list[ModelInfo]


# --- admin ------------------------------------------------------------------------------------


class ModelReload(BaseModel):
    """What a reload did to one model."""

    model: str
    outcome: Literal["reloaded", "unchanged", "failed"]
    version: str | None = Field(description="the version serving now")
    previous_version: str | None
    error: str | None


class ReloadReport(BaseModel):
    """Each reloaded model's outcome; a 409 adds the error envelope when one failed."""

    models: list[ModelReload]
