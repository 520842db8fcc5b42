"""Request bodies → validated numpy arrays and texts: the lean path in front of the batchers.

Tensors skip pydantic on purpose. A 28×28 pixel list as pydantic floats costs hundreds of
microseconds per instance and reports one error per bad element; orjson parses it into lists in
microseconds and numpy checks shape, finiteness and range in a few vectorised operations, naming
the first bad value. The pydantic request models in `schemas.py` document the same format.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np
import orjson
from fastapi import Request
from starlette.datastructures import UploadFile

from service.decoding import ImageDecoder
from service.errors import (
    InvalidImage,
    InvalidRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
)

JSON_HINT = (
    'send {"pixels": [[...28 numbers...] × 28]}, {"image": "<base64>"} or {"instances": [...]}'
)
TEXT_HINT = 'send {"text": "..."} or {"texts": ["...", ...]}'
_URL_SAFE = str.maketrans("-_", "+/")


@dataclass(frozen=True)
class DigitInputs:
    """Digits to classify: (N, H, W) float32 pixel values in 0–255, MNIST polarity."""

    pixels: np.ndarray
    batched: bool


@dataclass(frozen=True)
class TextInputs:
    """Texts to score, in request order."""

    texts: list[str]
    batched: bool


def media_type(request: Request) -> str:
    """The request's media type without parameters, lower-case ("" when absent)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_json(media: str) -> bool:
    """application/json or any +json type."""
    return media == "application/json" or media.endswith("+json")


def parse_json(body: bytes) -> object:
    """Parse a JSON body with orjson (NaN and Infinity are not JSON and are refused here)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"body is not valid JSON: {exc}") from exc


async def read_digit_inputs(
    request: Request, size: tuple[int, int], max_instances: int, decoder: ImageDecoder
) -> DigitInputs:
    """Digits from any accepted body: JSON (pixels, base64 image, instances), image, multipart."""
    media = media_type(request)
    if is_json(media):
        body = await request.body()
        # JSON true and false parse to bools, which bytes() would take for 1 and 0. A body without
        # them (base64 may spell "true": that only costs the fast path) may skip that check.
        booleans_absent = b"true" not in body and b"false" not in body
        return await digits_from_json(
            parse_json(body), size, max_instances, decoder, booleans_absent=booleans_absent
        )
    if media == "multipart/form-data":
        return await _single(await _form_file(request), decoder)
    if media.startswith("image/") or media == "application/octet-stream":
        return await _single(await request.body(), decoder)
    raise UnsupportedMediaType(
        f"content type {media or '(none)'!r} is not accepted; use application/json ({JSON_HINT}), "
        "an image body (image/png, image/jpeg, ...) or multipart/form-data with a 'file' field"
    )


async def read_texts(request: Request, max_texts: int, max_chars: int) -> TextInputs:
    """Texts from a JSON body."""
    media = media_type(request)
    if not is_json(media):
        raise UnsupportedMediaType(
            f"content type {media or '(none)'!r} is not accepted; use application/json: {TEXT_HINT}"
        )
    return texts_from_json(parse_json(await request.body()), max_texts, max_chars)


async def digits_from_json(
    payload: object,
    size: tuple[int, int],
    max_instances: int,
    decoder: ImageDecoder,
    *,
    booleans_absent: bool = False,
) -> DigitInputs:
    """A parsed JSON body → digits; images are decoded by `decoder`, within its budget.

    `booleans_absent`: the caller knows the payload holds no JSON true or false (see
    `pixels_array`).
    """
    if not isinstance(payload, dict):
        raise InvalidRequest(f"body must be a JSON object; {JSON_HINT}")
    if "instances" in payload:
        _only_keys(payload, {"instances"}, "body")
        instances = _instance_list(payload["instances"], max_instances)
        items = [
            _instance(item, f"instances[{i}]", size, booleans_absent)
            for i, item in enumerate(instances)
        ]
        batched = True
    else:
        items = [_instance(payload, "body", size, booleans_absent)]
        batched = False
    where = "instances[{}]: " if batched else ""
    blobs = {i: (where.format(i), item) for i, item in enumerate(items) if isinstance(item, bytes)}
    decoded = await decoder.decode(blobs) if blobs else {}
    arrays = [decoded[i] if isinstance(item, bytes) else item for i, item in enumerate(items)]
    pixels = arrays[0][np.newaxis] if len(arrays) == 1 else np.stack(arrays)
    return DigitInputs(pixels, batched)


def texts_from_json(payload: object, max_texts: int, max_chars: int) -> TextInputs:
    """A parsed JSON body → texts, each checked for type and length."""
    if not isinstance(payload, dict) or len(payload.keys() & {"text", "texts"}) != 1:
        raise InvalidRequest(f"body must be a JSON object with 'text' or 'texts'; {TEXT_HINT}")
    if "texts" in payload:
        _only_keys(payload, {"texts"}, "body")
        texts = payload["texts"]
        if not isinstance(texts, list) or not texts:
            raise InvalidRequest(f"'texts' must be a non-empty list of strings; {TEXT_HINT}")
        if len(texts) > max_texts:
            raise PayloadTooLarge(
                f"'texts' has {len(texts)} items; at most {max_texts} per request"
            )
        for i, text in enumerate(texts):
            _check_text(text, f"texts[{i}]", max_chars)
        return TextInputs(texts, batched=True)
    _only_keys(payload, {"text"}, "body")
    _check_text(payload["text"], "text", max_chars)
    return TextInputs([payload["text"]], batched=False)


def pixels_array(
    value: object, where: str, size: tuple[int, int], *, booleans_absent: bool = False
) -> np.ndarray:
    """A nested list of pixel values → (H, W) float32, or InvalidRequest naming what is wrong.

    With `booleans_absent` (nothing in `value` is True or False), whole-number pixels take
    `_byte_pixels`; anything else, and every error, takes numpy's general path.
    """
    if booleans_absent:
        pixels = _byte_pixels(value, size)
        if pixels is not None:
            return pixels
    rows, cols = size
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidRequest(
            f"{where}.pixels must be {rows} rows of {cols} numbers ({exc})"
        ) from exc
    if array.dtype.kind not in "iuf":
        raise InvalidRequest(
            f"{where}.pixels must contain only numbers 0–255; found {array.dtype.name} values"
        )
    if array.shape != size:
        raise InvalidRequest(
            f"{where}.pixels has shape {array.shape}; expected {rows} rows of {cols} numbers "
            f"(shape {size})"
        )
    # Two reductions on the common path. Written so that NaN (min or max is NaN) fails too.
    if not (array.min() >= 0 and array.max() <= 255):
        row, col = (int(i) for i in np.argwhere(~((array >= 0) & (array <= 255)))[0])
        raise InvalidRequest(
            f"{where}.pixels[{row}][{col}] is {array[row, col]}; pixels must be finite numbers "
            "from 0 (background) to 255 (ink)"
        )
    return array.astype(np.float32)


def _byte_pixels(value: object, size: tuple[int, int]) -> np.ndarray | None:
    """Rows of ints 0–255 → (H, W) float32 through bytes(), or None when they are not that.

    bytes(row) checks in C that each value is an int from 0 to 255: with orjson's parse, a 28×28
    body costs ~30 µs this way against ~90 through np.asarray on 784 Python ints. bytes() also
    takes True for 1, hence the caller's promise, and an int n for n zero bytes, hence the row
    type check.
    """
    rows, cols = size
    if type(value) is not list or len(value) != rows:
        return None
    if not all(type(row) is list and len(row) == cols for row in value):
        return None
    try:
        packed = b"".join(map(bytes, value))
    except (TypeError, ValueError):  # floats, strings, None; values outside 0–255
        return None
    return np.frombuffer(packed, dtype=np.uint8).reshape(size).astype(np.float32)


def image_bytes(value: object, where: str) -> bytes:
    """A base64 string (optionally a data: URL, URL-safe alphabet or unpadded) → bytes."""
    if not isinstance(value, str):
        raise InvalidRequest(f"{where}.image must be a base64 string; got {type(value).__name__}")
    text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    text = "".join(text.split()).translate(_URL_SAFE)
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    # binascii.Error for bad base64; a plain ValueError for non-ASCII text (found by fuzzing).
    except ValueError as exc:
        raise InvalidImage(f"{where}.image is not valid base64: {exc}") from exc


def _instance(
    item: object, where: str, size: tuple[int, int], booleans_absent: bool
) -> np.ndarray | bytes:
    if not isinstance(item, dict) or len(item.keys() & {"pixels", "image"}) != 1:
        raise InvalidRequest(f"{where} must be an object with either 'pixels' or 'image'")
    if "pixels" in item:
        _only_keys(item, {"pixels"}, where)
        return pixels_array(item["pixels"], where, size, booleans_absent=booleans_absent)
    _only_keys(item, {"image"}, where)
    return image_bytes(item["image"], where)


def _instance_list(value: object, max_instances: int) -> list[object]:
    if not isinstance(value, list) or not value:
        raise InvalidRequest(f"'instances' must be a non-empty list; {JSON_HINT}")
    if len(value) > max_instances:
        raise PayloadTooLarge(
            f"'instances' has {len(value)} items; at most {max_instances} per request"
        )
    return value


def _only_keys(payload: dict[str, object], allowed: set[str], where: str) -> None:
    unknown = sorted(payload.keys() - allowed)
    if unknown:
        raise InvalidRequest(f"{where} has unknown keys {unknown}; allowed: {sorted(allowed)}")


def _check_text(text: object, where: str, max_chars: int) -> None:
    if not isinstance(text, str):
        raise InvalidRequest(f"{where} must be a string; got {type(text).__name__}")
    if not text.strip():
        raise InvalidRequest(f"{where} is empty; send the review's text")
    if len(text) > max_chars:
        raise PayloadTooLarge(f"{where} has {len(text)} characters; at most {max_chars} allowed")


async def _form_file(request: Request) -> bytes:
    form = await request.form(max_files=1, max_fields=8)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidRequest("multipart/form-data body needs a file field named 'file'")
    return await upload.read()


async def _single(data: bytes, decoder: ImageDecoder) -> DigitInputs:
    decoded = await decoder.decode({0: ("", data)})
    return DigitInputs(decoded[0][np.newaxis], batched=False)
