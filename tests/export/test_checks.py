"""The export refuses graphs that break the serving contract or drift from Keras."""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

from export import lint, parity
from export.cli import main as export_main


def _identity_model(
    batch: int | str = "batch", opset: int = 17, output: str = "out"
) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [batch, 3])
    y = helper.make_tensor_value_info(output, onnx.TensorProto.FLOAT, [batch, 3])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], [output])], "g", [x], [y])
    # IR 10: what onnxruntime 1.31 reads (onnx 1.23 would default to a newer one).
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def test_a_clean_graph_passes() -> None:
    assert lint.lint(_identity_model(), ["x"], ["out"], min_opset=17) == []


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (_identity_model(batch=1), "fixed batch dimension"),
        (_identity_model(output="Identity:0"), "output names are ['Identity:0']"),
        (_identity_model(opset=13), "opset 13 is below the required 17"),
    ],
)
def test_contract_breaks_fail_the_export(model: onnx.ModelProto, message: str) -> None:
    with pytest.raises(lint.ExportLintError, match=message.replace("[", r"\[").replace("]", r"\]")):
        lint.lint(model, ["x"], ["out"], min_opset=17)


class _Doubler:
    """Stands in for the Keras model: parity only calls `predict`."""

    def predict(self, inputs: list[np.ndarray], **_: object) -> np.ndarray:
        return np.maximum(inputs[0], 0) * 2


def test_parity_catches_a_model_that_drifted(tmp_path: Path) -> None:
    path = tmp_path / "relu.onnx"
    onnx.save(_identity_model(output="out"), str(path))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    evaluation = parity.Evaluation(
        {"x": np.random.default_rng(0).standard_normal((1000, 3)).astype(np.float32)},
        decide=lambda out: out.argmax(axis=1),
    )
    with pytest.raises(parity.ParityError, match=r"max \|Δ\| .* exceeds 0.0001"):
        parity.check(_Doubler(), session, evaluation, reported_accuracy=None)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_broken_export_never_reaches_the_repository(
    smoke_repository: Path,
    smoke_artifacts: Path,
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from export import convert

    real_to_onnx = convert.to_onnx

    def corrupted(model, opset=17):  # type: ignore[no-untyped-def]
        proto = real_to_onnx(model, opset)
        weights = max(proto.graph.initializer, key=lambda tensor: np.prod(tensor.dims))
        broken = numpy_helper.to_array(weights) + np.float32(0.5)
        weights.CopyFrom(numpy_helper.from_array(broken, weights.name))
        return proto

    monkeypatch.setattr(convert, "to_onnx", corrupted)
    repository = tmp_path / "models"
    args = ["digits-mlp", "--artifacts", str(smoke_artifacts), "--repository", str(repository)]
    assert export_main([*args, "--data-dir", str(data_dir)]) == 2
    assert not (repository / "digits-mlp").exists()


@pytest.mark.slow
def test_variants_are_verified_and_recorded(
    smoke_artifacts: Path, data_dir: Path, tmp_path: Path
) -> None:
    from export.repository import read_metadata

    args = ["digits-mlp", "--artifacts", str(smoke_artifacts), "--repository", str(tmp_path)]
    assert export_main([*args, "--data-dir", str(data_dir), "--fp16", "--int8"]) == 0
    metadata = read_metadata(tmp_path / "digits-mlp" / "1")
    assert [v.precision for v in metadata.variants] == ["fp16", "int8"]
    for variant in metadata.variants:
        assert variant.accuracy is not None
        assert variant.latency_ms["batch_64"] > 0
        assert (tmp_path / "digits-mlp" / "1" / variant.file).exists() == variant.kept
