"""Export of smoke-trained models: names, dynamic batch, parity, metadata, variants."""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from export.repository import BATCH_AXIS, ModelMetadata, model_names, read_metadata, sha256_file
from training.config import MODELS

pytestmark = pytest.mark.slow

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


def test_every_model_is_exported(smoke_repository: Path) -> None:
    assert model_names(smoke_repository) == sorted(MODELS)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("batch", [1, 7, 64])
def test_exports_run_at_any_batch_size(name: str, batch: int, smoke_repository: Path) -> None:
    folder = smoke_repository / name / "1"
    metadata = read_metadata(folder)
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    feed = {spec.name: np.zeros(spec.shape_for(batch), spec.dtype) for spec in metadata.inputs}
    (output,) = session.run(None, feed)
    assert output.shape[0] == batch


@pytest.mark.parametrize("name", list(MODELS))
def test_metadata_is_complete_and_matches_the_files(name: str, smoke_repository: Path) -> None:
    folder = smoke_repository / name / "1"
    metadata = ModelMetadata.model_validate_json((folder / "metadata.json").read_bytes())
    assert metadata.onnx_sha256 == sha256_file(folder / "model.onnx")
    assert metadata.parity.passed
    assert metadata.parity.max_abs_diff <= 1e-4
    assert metadata.parity.samples >= 1000
    assert ([s.name for s in metadata.inputs], [s.name for s in metadata.outputs]) == EXPECTED_IO[
        name
    ]
    assert all(spec.shape[0] == BATCH_AXIS for spec in [*metadata.inputs, *metadata.outputs])
    if metadata.preprocessing.kind == "text":
        vocabulary = folder / metadata.preprocessing.vocabulary_file
        assert sha256_file(vocabulary) == metadata.preprocessing.vocabulary_sha256
    if metadata.task != "digit-generation":
        assert metadata.parity.onnx_accuracy == pytest.approx(
            metadata.metrics["test_accuracy"], abs=0.0005
        )
    assert {"batch_1", "batch_64"} <= set(metadata.cpu_latency_ms)


def test_metadata_schema_is_published_as_json_schema() -> None:
    schema = ModelMetadata.model_json_schema()
    assert {"inputs", "outputs", "preprocessing", "parity", "onnx_sha256"} <= set(
        schema["required"]
    )


def test_recurrent_loop_is_reported_as_a_warning(smoke_repository: Path) -> None:
    rnn = read_metadata(smoke_repository / "sentiment-rnn" / "1")
    lstm = read_metadata(smoke_repository / "sentiment-lstm" / "1")
    assert any("Loop" in w for w in rnn.training_config["export_warnings"])  # type: ignore[union-attr]
    assert lstm.training_config["export_warnings"] == []
    graph = onnx.load(str(smoke_repository / "sentiment-lstm" / "1" / "model.onnx")).graph
    assert "LSTM" in {node.op_type for node in graph.node}
