"""GAN quality judged by our own digit classifier: class balance, confidence, and an FID-style
distance on the classifier's penultimate features; and the epoch to keep by that judgement."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from contract.artifacts import JudgedEpoch
from contract.tensors import LatentDraw, generated_pixels, latent_batch
from training import gan
from training.config import SEED, GanConfig
from training.digits import to_model_input

SAMPLES = 1000
FEATURE_LAYER = "features"
# The product's targets for generated digits (docs/models.md states them with the results).
MIN_REQUESTED_DIGIT_ACCURACY = 0.95
MIN_MEAN_CONFIDENCE = 0.9
CLASS_SHARE_RANGE = (0.05, 0.15)


def sample_inputs(config: GanConfig, count: int, seed: int = SEED) -> list[np.ndarray]:
    """Fixed generator inputs: noise, and for the conditional GAN each digit in turn."""
    return latent_batch(gan.preprocessing(config), LatentDraw(count, seed))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa Σb)^½) between two (N, D) feature sets."""
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr((Σa Σb)^½) is the sum of the square roots of the eigenvalues of Σa Σb, which are real
    # and non-negative in theory; clip the round-off. This avoids needing scipy's sqrtm.
    eigenvalues = np.linalg.eigvals(cov_a @ cov_b).real.clip(min=0)
    trace = np.trace(cov_a) + np.trace(cov_b) - 2 * np.sqrt(eigenvalues).sum()
    return float(((mean_a - mean_b) ** 2).sum() + trace)


def measure(
    generator: keras.Model, config: GanConfig, classifier: keras.Model, real_pixels: np.ndarray
) -> dict[str, float]:
    """Classify 1,000 generated digits and compare their features with real test digits."""
    inputs = sample_inputs(config, SAMPLES)
    fake_pixels = generated_pixels(generator.predict(inputs, batch_size=250, verbose=0))
    features = keras.Model(classifier.inputs, classifier.get_layer(FEATURE_LAYER).output)
    probabilities = classifier.predict(to_model_input(fake_pixels), batch_size=500, verbose=0)
    predicted = probabilities.argmax(axis=1)
    fractions = np.bincount(predicted, minlength=gan.NUM_CLASSES) / SAMPLES
    metrics = {
        "mean_confidence": float(probabilities.max(axis=1).mean()),
        "min_class_fraction": float(fractions.min()),
        "max_class_fraction": float(fractions.max()),
        "fid_cnn_features": frechet_distance(
            features.predict(to_model_input(fake_pixels), batch_size=500, verbose=0),
            features.predict(to_model_input(real_pixels), batch_size=500, verbose=0),
        ),
    }
    if config.conditional:
        metrics["requested_digit_accuracy"] = float((predicted == inputs[1]).mean())
    return metrics


def missed_targets(metrics: dict[str, float]) -> list[str]:
    """The targets these measurements miss (the conditional GAN: only the digit asked for)."""
    if "requested_digit_accuracy" in metrics:
        hit = metrics["requested_digit_accuracy"] >= MIN_REQUESTED_DIGIT_ACCURACY
        return [] if hit else ["requested_digit_accuracy"]
    low, high = CLASS_SHARE_RANGE
    checks = {
        "mean_confidence": metrics["mean_confidence"] >= MIN_MEAN_CONFIDENCE,
        "min_class_fraction": metrics["min_class_fraction"] >= low,
        "max_class_fraction": metrics["max_class_fraction"] <= high,
    }
    return [name for name, met in checks.items() if not met]


class KeepBestEpoch(keras.callbacks.Callback):
    """Judge the generator after each epoch from `first_epoch` on; end with the best one's weights.

    GAN losses say little about the samples, and quality wanders from epoch to epoch: the DCGAN's
    most frequent class went from 14.5 % of samples after 8 epochs to 17.5 % after 16, while its
    confidence rose. Best means fewest missed targets, then the lowest FID, like early stopping's
    restore_best_weights with the product's own measure.
    """

    def __init__(
        self,
        config: GanConfig,
        classifier: keras.Model,
        real_pixels: np.ndarray,
        first_epoch: int,
    ) -> None:
        super().__init__()
        self.config = config
        self.classifier = classifier
        self.real_pixels = real_pixels
        self.first_epoch = first_epoch
        self.judged: list[JudgedEpoch] = []
        self.best_epoch: int | None = None
        self._best_rank: tuple[int, float] | None = None
        self._best_weights: list[np.ndarray] | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        number = epoch + 1
        if number < self.first_epoch:
            return
        generator = self.model.generator
        metrics = measure(generator, self.config, self.classifier, self.real_pixels)
        self.judged.append(JudgedEpoch(epoch=number, metrics=metrics))
        rank = (len(missed_targets(metrics)), metrics["fid_cnn_features"])
        if self._best_rank is None or rank < self._best_rank:
            self._best_rank, self.best_epoch = rank, number
            self._best_weights = generator.get_weights()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._best_weights is not None:
            self.model.generator.set_weights(self._best_weights)
