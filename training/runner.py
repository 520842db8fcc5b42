"""One training run: data → model → fit → evaluate → save the model, report and pictures."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import keras
import tensorflow as tf

from training import digits, gan, gan_quality, reports, sentiment
from training.config import SEED, DigitsConfig, GanConfig, ModelConfig, Profile, SentimentConfig
from training.data import load_imdb, load_mnist
from training.text import Vocabulary

MODEL_FILE = "model.keras"
VOCABULARY_FILE = "vocab.txt"
CLASSIFIER_FOR_GAN_METRICS = "digits-cnn"
DIGIT_LABELS = [str(d) for d in range(10)]
SENTIMENT_LABELS = ["negative", "positive"]


@dataclasses.dataclass(frozen=True)
class Run:
    """Where a run reads and writes."""

    name: str
    config: ModelConfig
    profile: Profile
    data_dir: Path | None
    artifacts: Path
    tensorboard: bool = False

    @property
    def folder(self) -> Path:
        return self.artifacts / self.name


def distribution_strategy() -> tf.distribute.Strategy:
    """Mirror across GPUs when there are several; the default strategy otherwise."""
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _callbacks(run: Run) -> list[keras.callbacks.Callback]:
    if run.tensorboard:
        return [keras.callbacks.TensorBoard(log_dir=str(run.folder / "tensorboard"))]
    return []


def _train_digits(run: Run, config: DigitsConfig) -> dict[str, object]:
    data = load_mnist(run.data_dir)
    with distribution_strategy().scope():
        model, history = digits.train(config, data, _callbacks(run))
    metrics, predicted = digits.evaluate(model, data)
    model.save(run.folder / MODEL_FILE)
    reports.plot_confusion(data.y_test, predicted, DIGIT_LABELS, run.folder / "confusion.png")
    return {
        "metrics": metrics,
        "history": history.history,
        "data_sha256": {"mnist": data.sha256},
        "labels": DIGIT_LABELS,
    }


def _train_sentiment(run: Run, config: SentimentConfig) -> dict[str, object]:
    data = load_imdb(run.data_dir)
    vocabulary = Vocabulary.build(data.train_texts, config.vocabulary_size)
    vocabulary_sha256 = vocabulary.save(run.folder / VOCABULARY_FILE)
    with distribution_strategy().scope():
        model, history = sentiment.train(config, data, vocabulary, _callbacks(run))
    metrics, predicted = sentiment.evaluate(model, config, data, vocabulary)
    model.save(run.folder / MODEL_FILE)
    reports.plot_confusion(
        data.test_labels, predicted, SENTIMENT_LABELS, run.folder / "confusion.png"
    )
    return {
        "metrics": metrics,
        "history": history.history,
        "data_sha256": {"imdb": data.sha256},
        "labels": SENTIMENT_LABELS,
        "vocabulary_sha256": vocabulary_sha256,
    }


def _train_gan(run: Run, config: GanConfig) -> dict[str, object]:
    classifier_path = run.artifacts / CLASSIFIER_FOR_GAN_METRICS / MODEL_FILE
    if not classifier_path.exists():
        raise FileNotFoundError(
            f"{classifier_path} is missing: GAN quality is measured with our digit classifier, "
            f"so train {CLASSIFIER_FOR_GAN_METRICS} first (same --out and --profile)"
        )
    data = load_mnist(run.data_dir)
    classifier = keras.models.load_model(classifier_path)
    keep_best = gan_quality.KeepBestEpoch(
        config, classifier, data.x_test, first_epoch=max(1, config.epochs // 2)
    )
    with distribution_strategy().scope():
        model, history = gan.train(config, data, [*_callbacks(run), keep_best])
    metrics = gan_quality.measure(model.generator, config, classifier, data.x_test)
    model.generator.save(run.folder / MODEL_FILE)
    # Labels cycle 0..9, so in a 10-column grid each column of the conditional GAN is one digit.
    grid = model.generator.predict(gan_quality.sample_inputs(config, 100, seed=SEED + 1), verbose=0)
    reports.plot_samples(gan.to_pixels(grid), run.folder / "samples.png")
    return {
        "metrics": metrics,
        "missed_targets": gan_quality.missed_targets(metrics),
        "selected_epoch": keep_best.best_epoch,
        "judged_epochs": keep_best.judged,
        "history": history.history,
        "data_sha256": {"mnist": data.sha256},
        "labels": DIGIT_LABELS,
    }


TRAINERS: dict[type, Callable[[Run, ModelConfig], dict[str, object]]] = {
    DigitsConfig: _train_digits,  # type: ignore[dict-item]
    SentimentConfig: _train_sentiment,  # type: ignore[dict-item]
    GanConfig: _train_gan,  # type: ignore[dict-item]
}


def train(run: Run) -> dict[str, object]:
    """Train one model under a fixed seed and write its artifacts; return the report."""
    keras.utils.set_random_seed(SEED)
    run.folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    outcome = TRAINERS[type(run.config)](run, run.config)
    history: dict[str, list[float]] = outcome.pop("history")  # type: ignore[assignment]
    reports.plot_curves(history, run.folder / "curves.png")
    report = {
        "name": run.name,
        "profile": run.profile,
        "config": dataclasses.asdict(run.config),
        **outcome,
        "epochs_run": len(next(iter(history.values()))),
        "history": {key: [float(v) for v in values] for key, values in history.items()},
        "duration_s": round(time.perf_counter() - started, 1),
        "seed": SEED,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "library_versions": reports.library_versions(),
    }
    reports.write_report(run.folder, report)
    return report
