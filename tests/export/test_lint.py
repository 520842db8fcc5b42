"""The lint refuses graphs that break the serving contract, and names every problem."""

from __future__ import annotations

import re

import onnx
import pytest

from export import lint
from tests.export.graphs import looped_graph, relu_graph


def test_a_clean_graph_passes_without_warnings() -> None:
    assert lint.lint(relu_graph(), ["x"], ["out"], min_opset=17) == []


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (relu_graph(batch=1), "input 'x' has a fixed batch dimension (1)"),
        (relu_graph(batch=32), "output 'out' has a fixed batch dimension (32)"),
        (relu_graph(batch="unk__12"), "expected the dynamic axis 'batch'"),
        (relu_graph(output="Identity:0"), "output names are ['Identity:0']; expected ['out']"),
        (relu_graph(opset=13), "opset 13 is below the required 17"),
        (relu_graph(op="NoSuchOp"), "the ONNX checker rejects the graph"),
    ],
    ids=["fixed-batch-input", "fixed-batch-output", "unnamed-axis", "names", "opset", "checker"],
)
def test_contract_breaks_fail_the_export(model: onnx.ModelProto, message: str) -> None:
    with pytest.raises(lint.ExportLintError, match=re.escape(message)):
        lint.lint(model, ["x"], ["out"], min_opset=17)


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(lint.ExportLintError) as raised:
        lint.lint(relu_graph(batch=1, opset=13), ["x"], ["out"], min_opset=17)
    assert "opset 13" in str(raised.value)
    assert "fixed batch dimension" in str(raised.value)


def test_slow_ops_pass_with_a_warning_for_the_record() -> None:
    warnings = lint.lint(looped_graph(), ["x"], ["out"], min_opset=17)
    assert warnings == ["graph contains Loop nodes: slow on CPU, no CUDA graphs"]
