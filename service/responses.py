"""Response classes of the hot path."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


class OrjsonResponse(Response):
    """JSON serialised by orjson, numpy arrays and scalars included.

    Routes return it with `response_model=` kept for the OpenAPI docs: FastAPI passes a returned
    Response through untouched, so a batch of probabilities is not re-validated float by float.
    orjson also writes float32 values at float32 precision (0.998, not 0.99800002574920654).
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=_OPTIONS)


def prediction_body(
    predictions: list[dict[str, Any]], batched: bool, model_ref: dict[str, str]
) -> dict[str, Any]:
    """`{"predictions": [...], model...}` for a batch request, else the one prediction + model."""
    if batched:
        return {"predictions": predictions, **model_ref}
    return {**predictions[0], **model_ref}
