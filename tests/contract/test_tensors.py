"""Raw values → input tensors, as the shipped metadata describes each model's inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from contract.metadata import ImagePreprocessing, ModelMetadata
from contract.repository import read_metadata
from contract.tensors import LatentDraw, generated_pixels, image_batch, model_inputs
from contract.text import Vocabulary
from tests.helpers.tiny_models import build_repository


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_repository(tmp_path_factory.mktemp("contract-tensors"))


def metadata(repository: Path, name: str) -> ModelMetadata:
    return read_metadata(repository / name / "1")


def test_pixels_become_the_digit_models_scaled_image_tensor(repository: Path) -> None:
    pixels = np.array([np.full((28, 28), 255, np.uint8), np.zeros((28, 28), np.uint8)])
    feeds = model_inputs(metadata(repository, "digits-cnn"), pixels)
    assert list(feeds) == ["image"]
    assert feeds["image"].shape == (2, 28, 28, 1)
    assert feeds["image"].dtype == np.float32
    assert feeds["image"][0].max() == 1.0
    assert feeds["image"][1].max() == 0.0


def test_image_batch_matches_the_training_scaling() -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    expected = (pixels.astype(np.float32) / 255.0)[..., np.newaxis]
    np.testing.assert_allclose(image_batch(ImagePreprocessing(), pixels), expected, rtol=1e-6)


def test_texts_become_pre_padded_token_ids(repository: Path) -> None:
    described = metadata(repository, "sentiment-lstm")
    vocabulary = Vocabulary.load(repository / "sentiment-lstm" / "1" / "vocab.txt")
    feeds = model_inputs(described, ["a good movie", "bad"], vocabulary)
    tokens = feeds["tokens"]
    assert tokens.shape == (2, 200)
    assert tokens.dtype == np.int64
    assert tokens[0, -3:].tolist() == [
        1,
        vocabulary.encode("good")[0],
        vocabulary.encode("movie")[0],
    ]
    assert tokens[1, :-1].tolist() == [0] * 199, "padding goes in front"


def test_a_text_model_without_its_vocabulary_is_a_programming_error(repository: Path) -> None:
    with pytest.raises(AssertionError, match="vocabulary"):
        model_inputs(metadata(repository, "sentiment-lstm"), ["good"])


def test_a_conditional_draw_feeds_noise_and_the_labels_asked_for(repository: Path) -> None:
    feeds = model_inputs(metadata(repository, "gan-conditional"), LatentDraw(12, seed=7))
    assert feeds["noise"].shape == (12, 100)
    assert feeds["noise"].dtype == np.float32
    assert feeds["label"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    chosen = model_inputs(metadata(repository, "gan-conditional"), LatentDraw(3, 7, digit=4))
    assert chosen["label"].tolist() == [4, 4, 4]
    np.testing.assert_array_equal(chosen["noise"], feeds["noise"][:3])


def test_the_same_seed_draws_the_same_noise_and_another_seed_does_not(repository: Path) -> None:
    described = metadata(repository, "gan-dcgan")
    first = model_inputs(described, LatentDraw(4, seed=1))
    assert list(first) == ["noise"], "an unconditional generator takes no labels"
    np.testing.assert_array_equal(
        first["noise"], model_inputs(described, LatentDraw(4, 1))["noise"]
    )
    assert not np.array_equal(first["noise"], model_inputs(described, LatentDraw(4, 2))["noise"])


def test_generator_output_maps_to_uint8_pixels() -> None:
    images = np.array([-1.0, -0.5, 0.0, 1.0, 1.5], dtype=np.float32).reshape(1, 1, 5, 1)
    assert generated_pixels(images).tolist() == [[[0, 64, 128, 255, 255]]]
