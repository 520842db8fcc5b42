"""One training run: data → model → fit → evaluate → save the model, report and pictures."""

from __future__ import annotations

import dataclasses
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from contract.artifacts import (
    MODEL_FILE,
    VOCABULARY_FILE,
    JudgedEpoch,
    Profile,
    TrainingReport,
    run_dir,
    write_report,
)
from contract.metadata import Preprocessing, Task
from contract.tensors import generated_pixels
from contract.text import Vocabulary
from training import digits, gan, gan_quality, plots, sentiment
from training.config import SEED, DigitsConfig, GanConfig, ModelConfig, SentimentConfig
from training.data import load_imdb, load_mnist
from training.layers import load_model

CLASSIFIER_FOR_GAN_METRICS = "digits-cnn"


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
        return run_dir(self.artifacts, self.name)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What training one model family yields, before the fields every run's report shares."""

    task: Task
    preprocessing: Preprocessing
    labels: list[str]
    metrics: dict[str, float]
    history: dict[str, list[float]]
    data_sha256: dict[str, str]
    # Generators only: see TrainingReport.
    selected_epoch: int | None = None
    judged_epochs: list[JudgedEpoch] | None = None
    missed_targets: list[str] | None = None


def distribution_strategy() -> tf.distribute.Strategy:
    """Mirror across GPUs when there are several; the default strategy otherwise."""
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shaped the model."""
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def _callbacks(run: Run) -> list[keras.callbacks.Callback]:
    if run.tensorboard:
        return [keras.callbacks.TensorBoard(log_dir=str(run.folder / "tensorboard"))]
    return []


def _floats(history: keras.callbacks.History) -> dict[str, list[float]]:
    """Keras' per-epoch logs as plain floats, ready for JSON."""
    return {key: [float(v) for v in values] for key, values in history.history.items()}


def _train_digits(run: Run, config: DigitsConfig) -> Outcome:
    data = load_mnist(run.data_dir)
    with distribution_strategy().scope():
        model, history = digits.train(config, data, _callbacks(run))
    metrics, predicted = digits.evaluate(model, data)
    model.save(run.folder / MODEL_FILE)
    plots.plot_confusion(data.y_test, predicted, digits.LABELS, run.folder / "confusion.png")
    return Outcome(
        digits.TASK,
        digits.PREPROCESSING,
        digits.LABELS,
        metrics,
        _floats(history),
        {"mnist": data.sha256},
    )


def _train_sentiment(run: Run, config: SentimentConfig) -> Outcome:
    data = load_imdb(run.data_dir)
    vocabulary = Vocabulary.build(data.train_texts, config.vocabulary_size)
    vocabulary_sha256 = vocabulary.save(run.folder / VOCABULARY_FILE)
    with distribution_strategy().scope():
        model, history = sentiment.train(config, data, vocabulary, _callbacks(run))
    metrics, predicted = sentiment.evaluate(model, config, data, vocabulary)
    model.save(run.folder / MODEL_FILE)
    plots.plot_confusion(
        data.test_labels, predicted, sentiment.LABELS, run.folder / "confusion.png"
    )
    return Outcome(
        sentiment.TASK,
        sentiment.preprocessing(config, vocabulary, vocabulary_sha256),
        sentiment.LABELS,
        metrics,
        _floats(history),
        {"imdb": data.sha256},
    )


def _gan_judge(run: Run) -> keras.Model:
    """The digit classifier that judges generated digits: it must have been trained first."""
    path = run_dir(run.artifacts, CLASSIFIER_FOR_GAN_METRICS) / MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: GAN quality is measured with our digit classifier, "
            f"so train {CLASSIFIER_FOR_GAN_METRICS} first (same --out and --profile)"
        )
    return load_model(path)


def _plot_samples(generator: keras.Model, config: GanConfig, path: Path) -> None:
    # Labels cycle 0..9, so in a 10-column grid each column of the conditional GAN is one digit.
    grid = generator.predict(gan_quality.sample_inputs(config, 100, seed=SEED + 1), verbose=0)
    plots.plot_samples(generated_pixels(grid), path)


def _train_gan(run: Run, config: GanConfig) -> Outcome:
    classifier = _gan_judge(run)
    data = load_mnist(run.data_dir)
    first_judged = max(1, config.epochs // 2)
    keep_best = gan_quality.KeepBestEpoch(config, classifier, data.x_test, first_judged)
    with distribution_strategy().scope():
        model, history = gan.train(config, data, [*_callbacks(run), keep_best])
    metrics = gan_quality.measure(model.generator, config, classifier, data.x_test)
    model.generator.save(run.folder / MODEL_FILE)
    _plot_samples(model.generator, config, run.folder / "samples.png")
    return Outcome(
        gan.TASK,
        gan.preprocessing(config),
        gan.LABELS,
        metrics,
        _floats(history),
        {"mnist": data.sha256},
        selected_epoch=keep_best.best_epoch,
        judged_epochs=keep_best.judged,
        missed_targets=gan_quality.missed_targets(metrics),
    )


def _train_family(run: Run) -> Outcome:
    """Train, evaluate and save the run's model the way its family does."""
    config = run.config
    if isinstance(config, DigitsConfig):
        return _train_digits(run, config)
    if isinstance(config, SentimentConfig):
        return _train_sentiment(run, config)
    return _train_gan(run, config)


def _report(run: Run, outcome: Outcome, duration_s: float) -> TrainingReport:
    return TrainingReport(
        name=run.name,
        profile=run.profile,
        task=outcome.task,
        preprocessing=outcome.preprocessing,
        labels=outcome.labels,
        config=dataclasses.asdict(run.config),
        metrics=outcome.metrics,
        history=outcome.history,
        data_sha256=outcome.data_sha256,
        epochs_run=len(next(iter(outcome.history.values()))),
        duration_s=duration_s,
        seed=SEED,
        created_at=datetime.now(UTC).replace(microsecond=0),
        library_versions=library_versions(),
        selected_epoch=outcome.selected_epoch,
        judged_epochs=outcome.judged_epochs,
        missed_targets=outcome.missed_targets,
    )


def train(run: Run) -> TrainingReport:
    """Train one model under a fixed seed and write its artifacts; return the report."""
    keras.utils.set_random_seed(SEED)
    run.folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    outcome = _train_family(run)
    plots.plot_curves(outcome.history, run.folder / "curves.png")
    report = _report(run, outcome, duration_s=round(time.perf_counter() - started, 1))
    write_report(run.folder, report)
    return report
