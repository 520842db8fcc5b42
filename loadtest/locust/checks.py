"""What a correct response looks like, checked on every response under load.

A 200 with a malformed body is a failure a status-only load test would miss. Each check returns
the prediction (so callers can count how often it matches the label) or raises
`MalformedResponseError` saying what is wrong.
"""

from __future__ import annotations

import math
import struct

import orjson

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SENTIMENT_LABELS = ("negative", "positive")
# Probabilities are float32 softmax outputs serialised at float32 precision.
SUM_TOLERANCE = 1e-3


class MalformedResponseError(ValueError):
    """A response body that does not match the API's documented shape."""


def digit_prediction(body: bytes) -> int:
    """The predicted digit of a /predict/digit body, after checking the whole prediction."""
    payload = _json_object(body)
    digit = payload.get("digit")
    if not isinstance(digit, int) or isinstance(digit, bool) or not 0 <= digit <= 9:
        raise MalformedResponseError(f"digit is {digit!r}; expected an int 0–9")
    raw = payload.get("probabilities")
    if not isinstance(raw, list) or len(raw) != 10:
        raise MalformedResponseError(f"probabilities is {raw!r:.80}; expected 10 numbers")
    probabilities = [_probability(p, "probabilities[]") for p in raw]
    if abs(math.fsum(probabilities) - 1.0) > SUM_TOLERANCE:
        raise MalformedResponseError(f"probabilities sum to {math.fsum(probabilities)}, not 1")
    if probabilities[digit] != max(probabilities):
        raise MalformedResponseError(f"digit {digit} is not the most probable in {probabilities}")
    confidence = _probability(payload.get("confidence"), "confidence")
    if abs(confidence - probabilities[digit]) > SUM_TOLERANCE:
        raise MalformedResponseError(f"confidence {confidence} is not probabilities[{digit}]")
    _model_ref(payload)
    return digit


def sentiment_label(body: bytes) -> str:
    """The label of a /sentiment body, after checking it agrees with the score."""
    payload = _json_object(body)
    label = payload.get("label")
    if label not in SENTIMENT_LABELS:
        raise MalformedResponseError(f"label is {label!r}; expected one of {SENTIMENT_LABELS}")
    score = _probability(payload.get("score"), "score")
    if (score >= 0.5) != (label == "positive"):
        raise MalformedResponseError(f"label {label} disagrees with score {score}")
    _model_ref(payload)
    return str(label)


def png_size(body: bytes) -> tuple[int, int]:
    """(width, height) of a PNG body, read from its IHDR chunk without decoding the image."""
    if not body.startswith(PNG_SIGNATURE) or body[12:16] != b"IHDR":
        raise MalformedResponseError(f"body is not a PNG (starts {body[:16]!r})")
    width, height = struct.unpack(">II", body[16:24])
    if width < 28 or height < 28:
        raise MalformedResponseError(
            f"PNG is {width}×{height} px; a generated digit is 28×28 at least"
        )
    return width, height


def seed_header(value: str | None, sent: int) -> None:
    """Check the X-Seed header echoes the seed the request sent."""
    if value != str(sent):
        raise MalformedResponseError(f"X-Seed is {value!r}; the request sent seed {sent}")


def _json_object(body: bytes) -> dict[str, object]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedResponseError(f"body is not JSON ({exc}): {body[:80]!r}") from exc
    if not isinstance(payload, dict):
        raise MalformedResponseError(f"body is {type(payload).__name__}; expected a JSON object")
    return payload


def _model_ref(payload: dict[str, object]) -> None:
    for key in ("model", "model_version"):
        if not isinstance(payload.get(key), str) or not payload[key]:
            raise MalformedResponseError(
                f"{key} is {payload.get(key)!r}; expected a non-empty string"
            )


def _probability(value: object, what: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    raise MalformedResponseError(f"{what} is {value!r}; expected a number in [0, 1]")
