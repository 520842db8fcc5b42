"""Checks an exported graph must pass before it may enter the model repository."""

from __future__ import annotations

import logging

import onnx

from export.repository import BATCH_AXIS

logger = logging.getLogger(__name__)

# Loop and Scan run step by step on CPU and rule out CUDA graphs; a plain LSTM node does not.
SLOW_OPS = {"Loop", "Scan"}


class ExportLintError(Exception):
    """The exported graph breaks the serving contract; the message lists every problem."""


def lint(
    proto: onnx.ModelProto, inputs: list[str], outputs: list[str], min_opset: int
) -> list[str]:
    """Raise ExportLintError on contract breaks; return warnings (slow ops) for the record."""
    problems: list[str] = []
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as error:
        problems.append(f"the ONNX checker rejects the graph: {error}")
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < min_opset:
        problems.append(f"opset {opset} is below the required {min_opset}")
    for kind, values, expected in (
        ("input", proto.graph.input, inputs),
        ("output", proto.graph.output, outputs),
    ):
        names = [value.name for value in values]
        if names != expected:
            problems.append(f"{kind} names are {names}; expected {expected}")
        for value in values:
            first = value.type.tensor_type.shape.dim[:1]
            if not first or first[0].dim_param != BATCH_AXIS:
                shown = first[0].dim_value if first else "no axis"
                problems.append(
                    f"{kind} {value.name!r} has a fixed batch dimension ({shown}); "
                    f"expected the dynamic axis {BATCH_AXIS!r}"
                )
    if problems:
        raise ExportLintError("; ".join(problems))
    slow = sorted({node.op_type for node in proto.graph.node} & SLOW_OPS)
    warnings = [f"graph contains {op} nodes: slow on CPU, no CUDA graphs" for op in slow]
    for warning in warnings:
        logger.warning(warning)
    return warnings
