"""Hand-built ONNX graphs with the serving contract's shape, for the export checks' tests."""

from __future__ import annotations

import onnx
from onnx import helper


def relu_graph(
    batch: int | str = "batch", opset: int = 17, output: str = "out", op: str = "Relu"
) -> onnx.ModelProto:
    """x (batch, 3) → out (batch, 3): the smallest graph with the contract's shape."""
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [batch, 3])
    y = helper.make_tensor_value_info(output, onnx.TensorProto.FLOAT, [batch, 3])
    graph = helper.make_graph([helper.make_node(op, ["x"], [output])], "g", [x], [y])
    # IR 10: what onnxruntime 1.31 reads (onnx 1.23 would default to a newer one).
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def looped_graph() -> onnx.ModelProto:
    """relu_graph with its input passed through a one-step Loop first, as masked RNNs export."""
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Identity", ["carried_in"], ["carried_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("step", onnx.TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", onnx.TensorProto.BOOL, []),
            helper.make_tensor_value_info("carried_in", onnx.TensorProto.FLOAT, ["batch", 3]),
        ],
        [
            helper.make_tensor_value_info("cond_out", onnx.TensorProto.BOOL, []),
            helper.make_tensor_value_info("carried_out", onnx.TensorProto.FLOAT, ["batch", 3]),
        ],
    )
    model = relu_graph()
    graph = model.graph
    graph.initializer.extend(
        [
            helper.make_tensor("steps", onnx.TensorProto.INT64, [], [1]),
            helper.make_tensor("keep_going", onnx.TensorProto.BOOL, [], [True]),
        ]
    )
    graph.node[0].input[0] = "looped"
    graph.node.insert(
        0, helper.make_node("Loop", ["steps", "keep_going", "x"], ["looped"], body=body)
    )
    return model
