"""Checks an exported graph must pass before it may enter the model repository."""

from __future__ import annotations

import logging

import onnx

from contract.metadata import BATCH_AXIS

logger = logging.getLogger(__name__)

# Loop and Scan run step by step on CPU and rule out CUDA graphs; a plain LSTM node does not.
SLOW_OPS = {"Loop", "Scan"}


class ExportLintError(Exception):
    """The exported graph breaks the serving contract; the message lists every problem."""


def _checker_problems(proto: onnx.ModelProto) -> list[str]:
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as error:
        return [f"the ONNX checker rejects the graph: {error}"]
    return []


def _opset_problems(proto: onnx.ModelProto, min_opset: int) -> list[str]:
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
    return [f"opset {opset} is below the required {min_opset}"] if opset < min_opset else []


def _io_problems(kind: str, values: list[onnx.ValueInfoProto], expected: list[str]) -> list[str]:
    """Names in the expected order, and a dynamic batch axis on every tensor."""
    names = [value.name for value in values]
    problems = [] if names == expected else [f"{kind} names are {names}; expected {expected}"]
    for value in values:
        first = value.type.tensor_type.shape.dim[:1]
        if not first or first[0].dim_param != BATCH_AXIS:
            shown = first[0].dim_value if first else "no axis"
            problems.append(
                f"{kind} {value.name!r} has a fixed batch dimension ({shown}); "
                f"expected the dynamic axis {BATCH_AXIS!r}"
            )
    return problems


def slow_op_warnings(proto: onnx.ModelProto) -> list[str]:
    """One warning per slow op type in the graph (see SLOW_OPS)."""
    slow = sorted({node.op_type for node in proto.graph.node} & SLOW_OPS)
    return [f"graph contains {op} nodes: slow on CPU, no CUDA graphs" for op in slow]


def lint(
    proto: onnx.ModelProto, inputs: list[str], outputs: list[str], min_opset: int
) -> list[str]:
    """Raise ExportLintError on contract breaks; return warnings (slow ops) for the record."""
    problems = [
        *_checker_problems(proto),
        *_opset_problems(proto, min_opset),
        *_io_problems("input", list(proto.graph.input), inputs),
        *_io_problems("output", list(proto.graph.output), outputs),
    ]
    if problems:
        raise ExportLintError("; ".join(problems))
    warnings = slow_op_warnings(proto)
    for warning in warnings:
        logger.warning(warning)
    return warnings
