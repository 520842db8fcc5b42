"""The protocol's tensor datatypes and Triton's config types, against numpy and our metadata."""

from __future__ import annotations

import numpy as np

from contract.metadata import Dtype

BYTES = "BYTES"
# Every datatype the protocol defines, so a tensor of another one is read (and refused by name)
# rather than failing as unparseable.
NUMPY_DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
_BY_DTYPE: dict[Dtype, str] = {"float32": "FP32", "float16": "FP16", "int64": "INT64"}


def datatype_of(dtype: Dtype) -> str:
    """The protocol's name for one of our tensor dtypes ("float32" → "FP32")."""
    return _BY_DTYPE[dtype]


def config_type(datatype: str) -> str:
    """Triton's model-config name of a datatype ("FP32" → "TYPE_FP32"; BYTES is TYPE_STRING)."""
    return "TYPE_STRING" if datatype == BYTES else f"TYPE_{datatype}"
