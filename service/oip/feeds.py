"""Decoded input tensors → one model version's feeds, checked against its metadata.json.

A client sends the model's own tensors (`image`, `tokens`, `noise`/`label`), so it can run the
exact ONNX graph remotely; a sentiment model also takes BYTES `text`, one raw review per element,
tokenised here with the version's own vocabulary: the train/serve contract applied in one place,
not in every client.
"""

from __future__ import annotations

import numpy as np

from contract.metadata import TensorSpec, TextPreprocessing
from contract.tensors import model_inputs
from service.errors import PayloadTooLarge, echo
from service.lifecycle import ModelVersion
from service.oip.codec import Tensor
from service.oip.datatypes import BYTES, datatype_of
from service.oip.errors import InvalidTensor
from service.tensor_rows import Tensors

TEXT_INPUT = "text"


def protocol_shape(spec: TensorSpec) -> list[int]:
    """A tensor's shape as the protocol writes it: -1 for the batch axis."""
    return [dim if isinstance(dim, int) else -1 for dim in spec.shape]


def model_feeds(
    model: ModelVersion, tensors: list[Tensor], max_rows: int, max_text_chars: int
) -> Tensors:
    """The feeds of `model` from the request's tensors: its own inputs, or a sentiment's `text`."""
    names = [tensor.name for tensor in tensors]
    if len(set(names)) != len(names):
        raise InvalidTensor(f"inputs are named {names}; each input may be given once")
    if names == [TEXT_INPUT] and accepts_text(model):
        return _text_feeds(model, tensors[0], max_rows, max_text_chars)
    given = {tensor.name: tensor for tensor in tensors}
    _check_names(model, given)
    feeds = {spec.name: _checked(spec, given[spec.name]) for spec in model.metadata.inputs}
    _check_rows(model, feeds, max_rows)
    return feeds


def accepts_text(model: ModelVersion) -> bool:
    """Whether the model reads raw review text (and so takes a BYTES `text` input)."""
    return isinstance(model.metadata.preprocessing, TextPreprocessing)


def expected_inputs(model: ModelVersion) -> str:
    """The inputs a model takes, for error messages."""
    described = [
        f"{spec.name} ({datatype_of(spec.dtype)} {protocol_shape(spec)})"
        for spec in model.metadata.inputs
    ]
    if accepts_text(model):
        described.append(f"or {TEXT_INPUT} ({BYTES} [-1], one review per element)")
    return ", ".join(described)


def _check_names(model: ModelVersion, given: dict[str, Tensor]) -> None:
    wanted = {spec.name for spec in model.metadata.inputs}
    unknown = sorted(set(given) - wanted)
    missing = sorted(wanted - set(given))
    if unknown or missing:
        problem = f"unknown input {echo(unknown[0])}" if unknown else f"missing input {missing[0]}"
        raise InvalidTensor(f"{problem}: model {model.name} takes {expected_inputs(model)}")


def _checked(spec: TensorSpec, tensor: Tensor) -> np.ndarray:
    """The tensor's array, once its datatype and shape fit `spec` (any number of rows)."""
    datatype = datatype_of(spec.dtype)
    if tensor.datatype != datatype:
        raise InvalidTensor(
            f"input {spec.name} has datatype {echo(tensor.datatype)}; expected {datatype}"
        )
    expected = protocol_shape(spec)
    fits = len(tensor.shape) == len(expected) and all(
        want in (-1, got) for want, got in zip(expected, tensor.shape, strict=True)
    )
    if not fits:
        raise InvalidTensor(
            f"input {spec.name} has shape {list(tensor.shape)}; expected {expected} "
            "(-1: any number of rows)"
        )
    assert isinstance(tensor.values, np.ndarray)
    return tensor.values


def _check_rows(model: ModelVersion, feeds: Tensors, max_rows: int) -> None:
    rows = {len(array) for array in feeds.values()}
    if len(rows) > 1:
        raise InvalidTensor(f"inputs of model {model.name} disagree on the rows: {sorted(rows)}")
    count = rows.pop()
    if count == 0 or count > max_rows:
        raise InvalidTensor(
            f"the inputs hold {count} rows; send 1 to {max_rows} "
            "(SERVING_MAX_INSTANCES_PER_REQUEST) per request"
        )
    preprocessing = model.metadata.preprocessing
    tokens = feeds.get(model.metadata.inputs[0].name)
    if isinstance(preprocessing, TextPreprocessing) and tokens is not None:
        _check_token_ids(tokens, preprocessing.vocabulary_size)


def _check_token_ids(tokens: np.ndarray, vocabulary_size: int) -> None:
    # An id outside the embedding table fails inside onnxruntime (a 500 for the whole batch).
    if tokens.size and (tokens.min() < 0 or tokens.max() >= vocabulary_size):
        raise InvalidTensor(
            f"token ids run from {tokens.min()} to {tokens.max()}; the vocabulary has ids "
            f"0 to {vocabulary_size - 1}"
        )


def _text_feeds(model: ModelVersion, tensor: Tensor, max_rows: int, max_text_chars: int) -> Tensors:
    if (
        tensor.datatype != BYTES
        or len(tensor.shape) not in (1, 2)
        or tensor.shape[1:]
        not in (
            (),
            (1,),
        )
    ):
        raise InvalidTensor(
            f"input {TEXT_INPUT} has datatype {echo(tensor.datatype)} and shape "
            f"{list(tensor.shape)}; expected {BYTES} [-1] or [-1, 1], one review per element"
        )
    assert isinstance(tensor.values, list)
    texts = [_text(value, max_text_chars) for value in tensor.values]
    if not 1 <= len(texts) <= max_rows:
        raise InvalidTensor(f"input {TEXT_INPUT} holds {len(texts)} reviews; send 1 to {max_rows}")
    return model_inputs(model.metadata, texts, model.vocabulary)


def _text(value: bytes, max_chars: int) -> str:
    try:
        text = value.decode()
    except UnicodeDecodeError as exc:
        raise InvalidTensor(f"input {TEXT_INPUT}: a review is not UTF-8 ({exc})") from exc
    if len(text) > max_chars:
        raise PayloadTooLarge(
            f"a review has {len(text)} characters; at most {max_chars} (SERVING_MAX_TEXT_CHARS)"
        )
    return text
