"""Tensors in and out of a request body: JSON `data`, or Triton's binary tensor extension.

With the extension the body is the JSON header (`Inference-Header-Content-Length` bytes) followed
by the raw tensors, in input order, each `parameters.binary_data_size` bytes long: row-major
little-endian values, or for BYTES a 4-byte little-endian length before each element.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np
import orjson
from pydantic import ValidationError

from service.errors import echo
from service.oip.datatypes import BYTES, NUMPY_DTYPES
from service.oip.errors import InvalidTensor
from service.oip.schemas import InferRequest, RequestInput

HEADER_LENGTH = "Inference-Header-Content-Length"
_LENGTH = struct.Struct("<I")


@dataclass(frozen=True)
class Tensor:
    """A decoded input: numeric values as an array, BYTES as a list of bytes."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    values: np.ndarray | list[bytes]


def decode_request(body: bytes, header_length: str | None) -> tuple[InferRequest, list[Tensor]]:
    """The request's JSON part and its input tensors, checked against their own shapes."""
    json_end = _header_end(body, header_length)
    try:
        request = InferRequest.model_validate(orjson.loads(body[:json_end]))
    except (orjson.JSONDecodeError, ValidationError) as exc:
        raise InvalidTensor(
            f"the inference request is not valid JSON for the protocol: {exc}"
        ) from exc
    binary = memoryview(body)[json_end:]
    tensors, offset = [], 0
    for spec in request.inputs:
        tensor, offset = _decode_input(spec, binary, offset)
        tensors.append(tensor)
    if offset != len(binary):
        raise InvalidTensor(
            f"the binary section holds {len(binary)} bytes but the inputs' binary_data_size "
            f"add up to {offset}"
        )
    return request, tensors


def _header_end(body: bytes, header_length: str | None) -> int:
    if header_length is None:
        return len(body)
    if not header_length.isdigit() or int(header_length) > len(body):
        raise InvalidTensor(
            f"{HEADER_LENGTH} is {echo(header_length)}; expected the length of the JSON "
            f"header, at most the body's {len(body)} bytes"
        )
    return int(header_length)


def _decode_input(spec: RequestInput, binary: memoryview, offset: int) -> tuple[Tensor, int]:
    """One input and the binary offset after it."""
    if spec.datatype != BYTES and spec.datatype not in NUMPY_DTYPES:
        raise InvalidTensor(
            f"input {echo(spec.name)} has datatype {echo(spec.datatype)}; the protocol's "
            f"datatypes are {', '.join([*NUMPY_DTYPES, BYTES])}"
        )
    if any(dim < 0 for dim in spec.shape):
        raise InvalidTensor(f"input {echo(spec.name)} has shape {spec.shape}; dims must be ≥ 0")
    size = spec.parameters.get("binary_data_size")
    if size is None:
        return Tensor(spec.name, spec.datatype, tuple(spec.shape), _from_json(spec)), offset
    if not isinstance(size, int) or size < 0 or offset + size > len(binary):
        raise InvalidTensor(
            f"input {echo(spec.name)} has binary_data_size {size!r} but only "
            f"{len(binary) - offset} bytes of binary data are left"
        )
    chunk = binary[offset : offset + size]
    return Tensor(spec.name, spec.datatype, tuple(spec.shape), _from_binary(spec, chunk)), (
        offset + size
    )


def _from_json(spec: RequestInput) -> np.ndarray | list[bytes]:
    if spec.data is None:
        raise InvalidTensor(f"input {echo(spec.name)} has neither data nor binary_data_size")
    count = math.prod(spec.shape)
    if spec.datatype == BYTES:
        flat = _flatten(spec.data)
        values = [item.encode() for item in flat if isinstance(item, str)]
        if len(values) != len(flat):
            raise InvalidTensor(f"BYTES input {echo(spec.name)} must hold strings")
        _check_count(spec, len(values), count)
        return values
    try:
        array = np.asarray(spec.data, dtype=NUMPY_DTYPES[spec.datatype])
    except (ValueError, TypeError) as exc:
        raise InvalidTensor(f"input {echo(spec.name)}: data is not {spec.datatype}: {exc}") from exc
    _check_count(spec, array.size, count)
    return array.reshape(spec.shape)


def _from_binary(spec: RequestInput, chunk: memoryview) -> np.ndarray | list[bytes]:
    count = math.prod(spec.shape)
    if spec.datatype == BYTES:
        values = _split_bytes(spec.name, chunk)
        _check_count(spec, len(values), count)
        return values
    dtype = NUMPY_DTYPES[spec.datatype]
    if len(chunk) != count * dtype.itemsize:
        raise InvalidTensor(
            f"input {echo(spec.name)} of shape {spec.shape} {spec.datatype} needs "
            f"{count * dtype.itemsize} bytes; binary_data_size is {len(chunk)}"
        )
    return np.frombuffer(chunk, dtype=dtype).reshape(spec.shape)


def _split_bytes(name: str, chunk: memoryview) -> list[bytes]:
    values, offset = [], 0
    while offset < len(chunk):
        if offset + _LENGTH.size > len(chunk):
            raise InvalidTensor(f"BYTES input {echo(name)}: its binary data ends inside a length")
        (length,) = _LENGTH.unpack_from(chunk, offset)
        offset += _LENGTH.size
        if offset + length > len(chunk):
            raise InvalidTensor(f"BYTES input {echo(name)}: an element runs past its data")
        values.append(bytes(chunk[offset : offset + length]))
        offset += length
    return values


def _flatten(data: object) -> list[object]:
    if isinstance(data, list):
        return [item for part in data for item in _flatten(part)]
    return [data]


def _check_count(spec: RequestInput, got: int, expected: int) -> None:
    if got != expected:
        raise InvalidTensor(
            f"input {echo(spec.name)} has shape {spec.shape} ({expected} values) but its data "
            f"holds {got}"
        )


def encode_outputs(
    outputs: dict[str, np.ndarray], binary: set[str]
) -> tuple[list[dict[str, object]], list[bytes]]:
    """Response `outputs` entries and, for the names in `binary`, their raw bytes in order."""
    entries, chunks = [], []
    for name, array in outputs.items():
        entry: dict[str, object] = {
            "name": name,
            "datatype": _datatype(array),
            "shape": list(array.shape),
        }
        if name in binary:
            raw = np.ascontiguousarray(array).tobytes()
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            entry["data"] = _json_values(array)
        entries.append(entry)
    return entries, chunks


def _datatype(array: np.ndarray) -> str:
    return next(name for name, dtype in NUMPY_DTYPES.items() if dtype == array.dtype)


def _json_values(array: np.ndarray) -> np.ndarray:
    # orjson writes float32 and int64 arrays natively but not float16 (an FP16 variant's output).
    flat = np.ascontiguousarray(array).reshape(-1)
    return flat.astype(np.float32) if flat.dtype == np.float16 else flat
