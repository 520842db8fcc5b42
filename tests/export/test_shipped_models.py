"""The committed model repository is intact and still as accurate as its metadata says.

Runs on onnxruntime alone, the way the service sees the models.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from contract.metadata import ModelMetadata
from contract.repository import model_names, read_metadata, sha256_file
from contract.text import Vocabulary, encode_batch

REPOSITORY = Path(__file__).resolve().parents[2] / "models"
SHIPPED = model_names(REPOSITORY)
# A slice of the test set estimates accuracy to about ±1 point (2,000 reviews) or better.
SENTIMENT_SLICE = 1000  # reviews per class
SLICE_TOLERANCE = 0.015


def _session(folder: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])


def _folder(name: str) -> Path:
    return REPOSITORY / name / "1"


def test_every_model_ships() -> None:
    from training.config import MODELS

    assert set(SHIPPED) == set(MODELS)


def test_repository_stays_small() -> None:
    total = sum(path.stat().st_size for path in REPOSITORY.rglob("*") if path.is_file())
    assert total <= 40 * 2**20, f"models/ holds {total / 2**20:.1f} MiB; the budget is 40"


@pytest.mark.parametrize("name", SHIPPED)
def test_files_match_their_checksums(name: str) -> None:
    metadata = read_metadata(_folder(name))
    assert sha256_file(_folder(name) / "model.onnx") == metadata.onnx_sha256
    if metadata.preprocessing.kind == "text":
        vocabulary = _folder(name) / metadata.preprocessing.vocabulary_file
        assert sha256_file(vocabulary) == metadata.preprocessing.vocabulary_sha256
    assert metadata.parity.passed
    assert metadata.training_config["profile"] == "full"


def _check_accuracy(metadata: ModelMetadata, measured: float, exact: bool) -> None:
    reported = metadata.metrics["test_accuracy"]
    tolerance = 0.0005 if exact else SLICE_TOLERANCE
    assert measured == pytest.approx(reported, abs=tolerance), (
        f"{metadata.name}: {measured:.4f} through onnxruntime, {reported:.4f} in its metadata"
    )


@pytest.mark.parametrize("name", [n for n in SHIPPED if n.startswith("digits-")])
def test_digit_models_keep_their_accuracy(name: str, data_dir: Path) -> None:
    with np.load(data_dir / "mnist.npz") as mnist:
        images, labels = mnist["x_test"], mnist["y_test"]
    probabilities = _session(_folder(name)).run(
        None, {"image": (images.astype(np.float32) / 255)[..., None]}
    )[0]
    accuracy = float((probabilities.argmax(axis=1) == labels).mean())
    _check_accuracy(read_metadata(_folder(name)), accuracy, exact=True)


@pytest.fixture(scope="module")
def review_slice(data_dir: Path) -> tuple[list[str], np.ndarray]:
    """The first SENTIMENT_SLICE negative and positive test reviews."""
    texts: dict[int, list[str]] = {0: [], 1: []}
    with gzip.open(data_dir / "imdb.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if row["split"] == "test" and len(texts[row["label"]]) < SENTIMENT_SLICE:
                texts[row["label"]].append(row["text"])
    return texts[0] + texts[1], np.repeat([0, 1], SENTIMENT_SLICE)


@pytest.mark.parametrize("name", [n for n in SHIPPED if n.startswith("sentiment-")])
def test_sentiment_models_keep_their_accuracy(
    name: str, review_slice: tuple[list[str], np.ndarray]
) -> None:
    metadata = read_metadata(_folder(name))
    assert metadata.preprocessing.kind == "text"
    vocabulary = Vocabulary.load(_folder(name) / metadata.preprocessing.vocabulary_file)
    texts, labels = review_slice
    tokens = encode_batch(vocabulary, texts, metadata.preprocessing.sequence_length)
    scores = _session(_folder(name)).run(None, {"tokens": tokens})[0][:, 0]
    _check_accuracy(metadata, float(((scores >= 0.5) == labels).mean()), exact=False)


@pytest.mark.parametrize("name", [n for n in SHIPPED if n.startswith("gan-")])
def test_generators_make_digits_our_classifier_recognises(name: str) -> None:
    """Reproduce the GAN quality metrics of the training report through onnxruntime."""
    metadata = read_metadata(_folder(name))
    conditional = metadata.preprocessing.kind == "noise" and metadata.preprocessing.conditional
    rng = np.random.default_rng(1337)  # the seed the training report used
    feed = {"noise": rng.standard_normal((1000, 100)).astype(np.float32)}
    if conditional:
        feed["label"] = np.arange(1000, dtype=np.int64) % 10
    images = _session(_folder(name)).run(None, feed)[0]
    pixels = np.clip((images + 1) * 127.5, 0, 255).round().astype(np.uint8)
    classifier = _session(_folder("digits-cnn"))
    probabilities = classifier.run(None, {"image": (pixels.astype(np.float32) / 255)})[0]
    predicted = probabilities.argmax(axis=1)
    fractions = np.bincount(predicted, minlength=10) / len(predicted)
    assert fractions.min() == pytest.approx(metadata.metrics["min_class_fraction"], abs=0.01)
    assert probabilities.max(axis=1).mean() == pytest.approx(
        metadata.metrics["mean_confidence"], abs=0.01
    )
    if conditional:
        hit = float((predicted == feed["label"]).mean())
        assert hit == pytest.approx(metadata.metrics["requested_digit_accuracy"], abs=0.01)
