"""OpenAPI for the routes that parse their own bodies: request schemas, media types, examples.

FastAPI documents a body only when it parses it; ours are parsed with orjson and numpy (see
`inputs.py`), so their documentation is added here, once, when /openapi.json is first built.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from service.schemas import (
    DigitBatchRequest,
    ErrorEnvelope,
    ImageInstance,
    PixelsInstance,
    TextBatchRequest,
    TextRequest,
)

REF = "#/components/schemas/{model}"
# A 28×28 PNG of a hand-drawn 7, light on dark.
EXAMPLE_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAABwAAAAcCAAAAABXZoBIAAAATUlEQVR42mNgGEqAEUr/xybMhE8nDsn/KMaiSZBlLEIj"
    "puR/Qg5ixCH5H9mRpDgIRSOa5H9CXmHEIfkfLciIdhC6RhRJRvxR/3/gUx8AwewLIMHeoCkAAAAASUVORK5CYII="
)
BINARY = {"schema": {"type": "string", "format": "binary"}}


ERROR_DESCRIPTIONS = {
    400: "the image could not be decoded (`invalid_image`), or a multipart/form-data body could "
    "not be read (`invalid_multipart`)",
    401: "API key missing or not valid (`unauthorized`), when SERVING_API_KEYS is set",
    403: "admin token missing or wrong (`forbidden`)",
    404: "unknown model or route (`unknown_model`, `not_found`)",
    408: "the request body did not arrive within SERVING_BODY_TIMEOUT_S (`request_timeout`); the "
    "connection is closed",
    409: "a new version failed to load or a model folder cannot be listed; the previous one still "
    "serves (`reload_failed`)",
    413: "body, batch, text or image too large, or a request's images together over "
    "SERVING_MAX_REQUEST_IMAGE_PIXELS (`payload_too_large`)",
    415: "unsupported content type (`unsupported_media_type`)",
    422: "malformed request: shape, range, JSON, parameters (`invalid_request`)",
    429: "queue full, or the work ahead would outlast the deadline; retry after `Retry-After` "
    "seconds (`overloaded`)",
    503: "model not ready, request past its deadline, or server shutting down (`not_ready`, "
    "`deadline_exceeded`, `shutting_down`)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting the error envelope for these statuses."""
    return {s: {"model": ErrorEnvelope, "description": ERROR_DESCRIPTIONS[s]} for s in statuses}


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` include the hand-parsed request bodies."""

    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()  # FastAPI caches the schema it builds; patch it in place
            _add_request_bodies(schema)
            _document_auth_errors(schema)
        return build()

    app.openapi = openapi  # type: ignore[method-assign]


def _add_request_bodies(schema: dict[str, Any]) -> None:
    models: list[type[BaseModel]] = [
        PixelsInstance,
        ImageInstance,
        DigitBatchRequest,
        TextRequest,
        TextBatchRequest,
    ]
    _, definitions = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    schema.setdefault("components", {}).setdefault("schemas", {}).update(definitions["$defs"])
    paths = schema["paths"]
    paths["/predict/digit"]["post"]["requestBody"] = _digit_body()
    paths["/sentiment"]["post"]["requestBody"] = _text_body()


def _document_auth_errors(schema: dict[str, Any]) -> None:
    """401 on every operation that declares a security scheme (they exist only when enabled)."""
    unauthorized = error_responses(401)[401]
    envelope = {"application/json": {"schema": {"$ref": REF.format(model="ErrorEnvelope")}}}
    for operations in schema["paths"].values():
        for operation in operations.values():
            if operation.get("security"):
                operation["responses"].setdefault(
                    "401", {"description": unauthorized["description"], "content": envelope}
                )


def _one_of(*models: type[BaseModel]) -> dict[str, Any]:
    return {"oneOf": [{"$ref": REF.format(model=m.__name__)} for m in models]}


def _digit_body() -> dict[str, Any]:
    pixels = example_pixels()
    examples = {
        "pixels": {"summary": "28×28 pixel values", "value": {"pixels": pixels}},
        "image": {"summary": "a base64 PNG", "value": {"image": EXAMPLE_PNG}},
        "batch": {
            "summary": "several digits",
            "value": {"instances": [{"image": EXAMPLE_PNG}, {"pixels": pixels}]},
        },
    }
    json_body = _one_of(PixelsInstance, ImageInstance, DigitBatchRequest)
    upload = {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
    return {
        "required": True,
        "content": {
            "application/json": {"schema": json_body, "examples": examples},
            "image/png": BINARY,
            "image/jpeg": BINARY,
            "image/*": BINARY,
            "multipart/form-data": {"schema": {**upload, "required": ["file"]}},
        },
    }


def _text_body() -> dict[str, Any]:
    examples = {
        "text": {
            "summary": "one review",
            "value": {"text": "A moving story with wonderful performances."},
        },
        "batch": {
            "summary": "several reviews",
            "value": {
                "texts": ["Loved every minute of it.", "Dull, predictable and far too long."]
            },
        },
    }
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": _one_of(TextRequest, TextBatchRequest),
                "examples": examples,
            }
        },
    }


def example_pixels() -> list[list[int]]:
    """A drawn 7 as 28 rows of 28 values (the `pixels` example)."""
    canvas = np.zeros((28, 28), dtype=np.uint8)
    canvas[6:9, 7:22] = 255
    for row in range(9, 23):
        col = 21 - (row - 9) * 9 // 13
        canvas[row, col - 1 : col + 2] = 255
    return canvas.tolist()
