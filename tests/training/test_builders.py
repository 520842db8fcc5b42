import numpy as np
import pytest

from training import digits, gan, sentiment
from training.config import MODELS, DigitsConfig, GanConfig, SentimentConfig


@pytest.mark.parametrize("architecture", ["mlp", "cnn", "resnet"])
def test_digit_models_map_images_to_ten_probabilities(architecture: str) -> None:
    model = digits.BUILDERS[architecture](DigitsConfig(architecture))
    probabilities = np.asarray(model(np.zeros((3, 28, 28, 1), np.float32)))
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("architecture", ["rnn", "lstm", "transformer"])
def test_sentiment_models_map_tokens_to_one_probability(architecture: str) -> None:
    config = SentimentConfig(architecture, embedding_dim=16)
    model = sentiment.BUILDERS[architecture](config)
    scores = np.asarray(model(np.ones((2, config.sequence_length), np.int64)))
    assert scores.shape == (2, 1)
    assert ((scores > 0) & (scores < 1)).all()


def test_recurrent_models_do_not_mask() -> None:
    # Masking makes the ONNX export a slow Loop; the contract is pre-padding instead.
    model = sentiment.build_lstm(MODELS["sentiment-lstm"])  # type: ignore[arg-type]
    assert not any(getattr(layer, "mask_zero", False) for layer in model.layers)


@pytest.mark.parametrize("conditional", [False, True])
def test_generators_make_28x28_images_in_tanh_range(conditional: bool) -> None:
    config = GanConfig(conditional=conditional)
    inputs = [np.random.default_rng(0).standard_normal((4, 100)).astype(np.float32)]
    if conditional:
        inputs.append(np.array([0, 3, 7, 9], np.int64))
    images = np.asarray(gan.build_generator(config)(inputs))
    assert images.shape == (4, 28, 28, 1)
    assert images.min() >= -1
    assert images.max() <= 1
    judged = gan.build_discriminator(config)([images, inputs[1]] if conditional else [images])
    realness, *digit_logits = judged if conditional else [judged]
    assert np.asarray(realness).shape == (4, 1)
    assert [np.asarray(d).shape for d in digit_logits] == ([(4, 10)] if conditional else [])


def test_every_model_has_a_builder_and_config() -> None:
    assert set(MODELS) == {
        "digits-mlp",
        "digits-cnn",
        "digits-resnet",
        "sentiment-rnn",
        "sentiment-lstm",
        "sentiment-transformer",
        "gan-dcgan",
        "gan-conditional",
    }
