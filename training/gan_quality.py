"""GAN quality judged by our own digit classifier: class balance, confidence, and an FID-style
distance on the classifier's penultimate features."""

from __future__ import annotations

import keras
import numpy as np

from training.config import SEED, GanConfig
from training.digits import to_model_input
from training.gan import NUM_CLASSES, to_pixels

SAMPLES = 1000
FEATURE_LAYER = "features"


def sample_inputs(config: GanConfig, count: int, seed: int = SEED) -> list[np.ndarray]:
    """Fixed generator inputs: noise, and for the conditional GAN each digit in turn."""
    noise = np.random.default_rng(seed).standard_normal((count, config.latent_dim))
    inputs: list[np.ndarray] = [noise.astype(np.float32)]
    if config.conditional:
        inputs.append(np.arange(count, dtype=np.int64) % NUM_CLASSES)
    return inputs


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
    fake_pixels = to_pixels(generator.predict(inputs, batch_size=250, verbose=0))
    features = keras.Model(classifier.inputs, classifier.get_layer(FEATURE_LAYER).output)
    probabilities = classifier.predict(to_model_input(fake_pixels), batch_size=500, verbose=0)
    predicted = probabilities.argmax(axis=1)
    fractions = np.bincount(predicted, minlength=NUM_CLASSES) / SAMPLES
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
