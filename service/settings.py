"""The service's configuration: the only reader of the environment (prefix `SERVING_`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator can tune; `Settings()` reads `SERVING_*` variables."""

    model_config = SettingsConfigDict(env_prefix="SERVING_", extra="ignore")

    model_repository: Path = Path("models")
    # NoDecode: lists come as "a,b" or as JSON ('["a", "b"]'); the validator below takes both.
    models: Annotated[list[str] | None, NoDecode] = Field(
        None, description="model names to serve; None serves every model in the repository"
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1)
    providers: Annotated[list[str] | None, NoDecode] = Field(
        None, description="onnxruntime providers in priority order; None = TensorRT, CUDA, CPU"
    )
    intra_op_threads: int | None = Field(None, ge=1)
    require_gpu: bool = Field(
        False,
        description="ready only when every model runs on CUDA or TensorRT: a GPU deployment never "
        "serves on the CPU unnoticed",
    )
    # Named SERVING_MAX_BATCH_SIZE before 0.2; the old name is still read. "Batch" now means
    # only rows per session.run (max_batch_rows, and each model's batching.max_batch_size).
    max_instances_per_request: int = Field(
        64,
        ge=1,
        validation_alias=AliasChoices(
            "max_instances_per_request",
            "SERVING_MAX_INSTANCES_PER_REQUEST",
            "SERVING_MAX_BATCH_SIZE",
        ),
        description="instances or texts per request",
    )
    max_body_bytes: int = Field(
        8_388_608, ge=1, description="request body cap for routes without a cap of their own"
    )
    max_digit_body_bytes: int = Field(8_388_608, ge=1, description="/predict/digit body cap")
    # 64 texts of 16 000 characters fit; a single review is rarely over 10 kB.
    max_sentiment_body_bytes: int = Field(1_048_576, ge=1, description="/sentiment body cap")
    max_text_chars: int = Field(100_000, ge=1)
    max_request_image_pixels: int = Field(
        40_000_000,
        ge=1,
        description="pixels of every uploaded image of one request together, as their headers "
        "declare them; checked before any is decoded",
    )
    decode_threads: int = Field(
        1,
        ge=1,
        description="image uploads decoded at once per worker; a 40-megapixel PNG holds ~160 MB "
        "while it decodes, so this bounds the memory uploads can take",
    )
    inline_decode_pixels: int = Field(
        250_000,
        ge=0,
        description="uploads declaring at most this many pixels together decode on the event "
        "loop, not in the pool (a 200×200 drawing takes ~0.5 ms, less than the hand-off); 0 = "
        "always the pool",
    )
    body_timeout_s: float = Field(
        5.0,
        gt=0,
        description="a request body must arrive within this long (408 otherwise); separate from "
        "the inference deadline",
    )
    max_batch_rows: int | None = Field(
        None,
        ge=1,
        description="rows per session.run, at most each model's metadata value (None keeps it); "
        "1 turns batching off",
    )
    max_queue_delay_ms: float | None = Field(
        None, ge=0, description="batch window; None keeps each model's metadata value"
    )
    inline_inference_ms: float = Field(
        1.0,
        ge=0,
        description="batches expected to finish this fast run on the event loop instead of a "
        "thread (the hand-off costs ~0.1 ms); 0 = always a thread",
    )
    queue_capacity: int = Field(256, ge=1, description="requests waiting per model before 429")
    request_timeout_s: float = Field(10.0, gt=0)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    log_format: Literal["text", "json"] = "text"
    drain_grace_s: float = Field(
        5.0,
        ge=0,
        description="after SIGTERM, /readyz says 503 this long before new connections stop",
    )
    drain_timeout_s: float = Field(
        30.0,
        ge=0,
        description="after the grace, how long in-flight and queued requests get to finish",
    )
    # repr=False: settings get logged and printed; credentials must not be.
    api_keys: Annotated[list[SecretStr] | None, NoDecode] = Field(
        None,
        repr=False,
        description="keys accepted in X-API-Key or Authorization: Bearer; None = no auth",
    )
    admin_token: SecretStr | None = Field(
        None, repr=False, description="enables /admin/* for callers sending it in X-Admin-Token"
    )
    reload_interval_s: float = Field(
        0, ge=0, description="poll the repository for new versions this often; 0 = never"
    )
    cors_origins: Annotated[list[str] | None, NoDecode] = Field(
        None, description="origins allowed to call the API from a browser; None = no CORS"
    )

    @field_validator("models", "providers", "api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return None
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]

    @field_validator("admin_token", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _bodies_arrive_before_the_drain_ends(self) -> Settings:
        # Past the drain timeout uvicorn cancels the request itself: a plain-text 500, not our 408.
        if self.body_timeout_s > self.drain_timeout_s > 0:
            raise ValueError(
                f"body_timeout_s ({self.body_timeout_s:g}) must not exceed drain_timeout_s "
                f"({self.drain_timeout_s:g}): a stalled body would outlive the drain"
            )
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value
