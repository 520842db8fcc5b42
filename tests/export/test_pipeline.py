"""Exporting smoke-trained models: names, dynamic batch, parity, and metadata from the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from contract.artifacts import read_report, run_dir
from contract.metadata import BATCH_AXIS, ModelMetadata, NoisePreprocessing
from contract.repository import model_names, read_metadata, sha256_file
from export import convert, pipeline
from export.cli import main as export_main
from tests.contract.test_artifacts import TEXT, sample_report
from training.config import MODELS

EXPECTED_IO = {
    "digits-mlp": (["image"], ["probabilities"]),
    "digits-cnn": (["image"], ["probabilities"]),
    "digits-resnet": (["image"], ["probabilities"]),
    "sentiment-rnn": (["tokens"], ["positive_probability"]),
    "sentiment-lstm": (["tokens"], ["positive_probability"]),
    "sentiment-transformer": (["tokens"], ["positive_probability"]),
    "gan-dcgan": (["noise"], ["image"]),
    "gan-conditional": (["noise", "label"], ["image"]),
}


def test_only_a_generator_records_its_selected_epoch() -> None:
    classifier = pipeline.training_config(sample_report(), ["a warning"])
    generator = sample_report(NoisePreprocessing(latent_dim=100, conditional=False))
    assert "selected_epoch" not in classifier
    assert classifier["export_warnings"] == ["a warning"]
    assert pipeline.training_config(generator, [])["selected_epoch"] == 2


def test_only_a_text_model_ships_an_asset() -> None:
    assert pipeline.assets(sample_report()) == []
    assert pipeline.assets(sample_report(TEXT)) == ["vocab.txt"]


@pytest.mark.slow
def test_every_model_is_exported(smoke_repository: Path) -> None:
    assert model_names(smoke_repository) == sorted(MODELS)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("batch", [1, 7, 64])
def test_exports_run_at_any_batch_size(name: str, batch: int, smoke_repository: Path) -> None:
    folder = smoke_repository / name / "1"
    metadata = read_metadata(folder)
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    feed = {spec.name: np.zeros(spec.shape_for(batch), spec.dtype) for spec in metadata.inputs}
    (output,) = session.run(None, feed)
    assert output.shape[0] == batch


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_metadata_is_complete_and_matches_the_files(name: str, smoke_repository: Path) -> None:
    folder = smoke_repository / name / "1"
    metadata = ModelMetadata.model_validate_json((folder / "metadata.json").read_bytes())
    assert metadata.onnx_sha256 == sha256_file(folder / "model.onnx")
    assert metadata.parity.passed
    assert metadata.parity.max_abs_diff <= 1e-4
    assert metadata.parity.samples >= 1000
    io_names = ([s.name for s in metadata.inputs], [s.name for s in metadata.outputs])
    assert io_names == EXPECTED_IO[name]
    assert all(spec.shape[0] == BATCH_AXIS for spec in [*metadata.inputs, *metadata.outputs])
    if metadata.preprocessing.kind == "text":
        vocabulary = folder / metadata.preprocessing.vocabulary_file
        assert sha256_file(vocabulary) == metadata.preprocessing.vocabulary_sha256
    if metadata.task != "digit-generation":
        assert metadata.parity.onnx_accuracy == pytest.approx(
            metadata.metrics["test_accuracy"], abs=0.0005
        )
    assert {"batch_1", "batch_64"} <= set(metadata.cpu_latency_ms)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_metadata_carries_the_training_report(
    name: str, smoke_repository: Path, smoke_artifacts: Path
) -> None:
    report = read_report(run_dir(smoke_artifacts, name))
    metadata = read_metadata(smoke_repository / name / "1")
    assert (metadata.task, metadata.preprocessing, metadata.labels) == (
        report.task,
        report.preprocessing,
        report.labels,
    )
    assert metadata.metrics == report.metrics
    assert metadata.training_config["epochs"] == report.config["epochs"] == 1
    assert metadata.training_config["data_sha256"] == report.data_sha256
    assert metadata.library_versions["keras"] == report.library_versions["keras"]
    assert metadata.library_versions["onnxruntime"] == ort.__version__


def test_metadata_schema_is_published_as_json_schema() -> None:
    schema = ModelMetadata.model_json_schema()
    assert {"inputs", "outputs", "preprocessing", "parity", "onnx_sha256"} <= set(
        schema["required"]
    )


@pytest.mark.slow
def test_recurrent_loop_is_reported_as_a_warning(smoke_repository: Path) -> None:
    rnn = read_metadata(smoke_repository / "sentiment-rnn" / "1")
    lstm = read_metadata(smoke_repository / "sentiment-lstm" / "1")
    assert any("Loop" in w for w in rnn.training_config["export_warnings"])  # type: ignore[union-attr]
    assert lstm.training_config["export_warnings"] == []
    graph = onnx.load(str(smoke_repository / "sentiment-lstm" / "1" / "model.onnx")).graph
    assert "LSTM" in {node.op_type for node in graph.node}


@pytest.mark.slow
def test_a_perturbed_model_never_reaches_the_repository(
    smoke_artifacts: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_to_onnx = convert.to_onnx

    def perturbed(model: object, opset: int = convert.DEFAULT_OPSET) -> onnx.ModelProto:
        proto = real_to_onnx(model, opset)
        weights = max(proto.graph.initializer, key=lambda tensor: np.prod(tensor.dims))
        broken = numpy_helper.to_array(weights) + np.float32(0.5)
        weights.CopyFrom(numpy_helper.from_array(broken, weights.name))
        return proto

    monkeypatch.setattr(convert, "to_onnx", perturbed)
    repository = tmp_path / "models"
    args = ["digits-mlp", "--artifacts", str(smoke_artifacts), "--repository", str(repository)]
    assert export_main([*args, "--data-dir", str(data_dir)]) == 2
    assert not (repository / "digits-mlp").exists()
