"""Keras → ONNX with stable tensor names and a named dynamic batch axis.

Route: `keras.Model.export(format="onnx")`, which drives tf2onnx's `from_function` on the
model's traced call. `tf2onnx.convert.from_keras` breaks on Keras 3 models (onnx/tensorflow-onnx
#2329, #2348, #2448), and the Keras route names the output `Identity:0` and the batch axis
`unk__N`, so both are renamed here.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import keras
import onnx
import tensorflow as tf

from contract.metadata import BATCH_AXIS, Dtype, TensorSpec

DEFAULT_OPSET = 17
_DTYPES: dict[int, Dtype] = {
    onnx.TensorProto.FLOAT: "float32",
    onnx.TensorProto.FLOAT16: "float16",
    onnx.TensorProto.INT64: "int64",
}


def _signature(model: keras.Model) -> list[tf.TensorSpec] | list[list[tf.TensorSpec]]:
    specs = [
        tf.TensorSpec((None, *tensor.shape[1:]), tensor.dtype, name=tensor.name)
        for tensor in model.inputs
    ]
    # Keras expects several inputs as one nested list, a single input bare.
    return [specs] if len(specs) > 1 else specs


def to_onnx(model: keras.Model, opset: int = DEFAULT_OPSET) -> onnx.ModelProto:
    """Convert a Keras model; inputs keep their Keras names, outputs take their layer names."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "model.onnx"
        model.export(
            str(path),
            format="onnx",
            input_signature=_signature(model),
            opset_version=opset,
            verbose=False,
        )
        proto = onnx.load(str(path))
    rename_outputs(proto, list(model.output_names))
    name_batch_axis(proto)
    proto.producer_name = "digits-sentiment-serving export"
    return proto


def rename_outputs(proto: onnx.ModelProto, names: list[str]) -> None:
    """Give graph outputs meaningful names, rewiring the nodes that produce them."""
    graph = proto.graph
    renames = {output.name: new for output, new in zip(graph.output, names, strict=True)}
    for node in graph.node:
        node.output[:] = [renames.get(name, name) for name in node.output]
        node.input[:] = [renames.get(name, name) for name in node.input]
    for output in graph.output:
        output.name = renames[output.name]


def name_batch_axis(proto: onnx.ModelProto) -> None:
    """Call the first axis of every graph input and output `batch`."""
    for value in [*proto.graph.input, *proto.graph.output]:
        first = value.type.tensor_type.shape.dim[0]
        first.ClearField("dim_value")
        first.dim_param = BATCH_AXIS


def tensor_specs(values: list[onnx.ValueInfoProto]) -> list[TensorSpec]:
    """The metadata view of graph inputs or outputs."""
    return [
        TensorSpec(
            name=value.name,
            dtype=_DTYPES[value.type.tensor_type.elem_type],
            shape=[dim.dim_param or dim.dim_value for dim in value.type.tensor_type.shape.dim],
        )
        for value in values
    ]
