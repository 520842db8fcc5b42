"""Export one trained model into the repository: convert, lint, verify parity, then write."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import keras
import numpy as np
import onnx
import onnxruntime as ort
import tf2onnx

from export import convert, lint, parity, tensorrt, variants
from export.repository import (
    ONNX_FILE,
    ImagePreprocessing,
    ModelMetadata,
    NoisePreprocessing,
    Preprocessing,
    Task,
    TextPreprocessing,
    sha256_file,
    version_dir,
    write_metadata,
)

# Importing `sentiment` also registers the Transformer's custom layer, which loading needs.
from training import digits, gan, gan_quality, sentiment, text
from training.config import MODELS, DigitsConfig, GanConfig, ModelConfig, SentimentConfig
from training.data import load_imdb, load_mnist
from training.reports import library_versions, read_report
from training.runner import MODEL_FILE, VOCABULARY_FILE

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ExportRequest:
    """Which trained model to export, from where, to where."""

    name: str
    artifacts: Path
    repository: Path
    data_dir: Path | None
    version: str = "1"
    opset: int = convert.DEFAULT_OPSET
    precisions: tuple[str, ...] = ()
    tensorrt: bool = False

    @property
    def run_dir(self) -> Path:
        return self.artifacts / self.name

    @property
    def target(self) -> Path:
        return version_dir(self.repository, self.name, self.version)


@dataclasses.dataclass(frozen=True)
class Family:
    """What differs between digit classifiers, sentiment models and generators."""

    task: Task
    preprocessing: Preprocessing
    evaluation: parity.Evaluation
    assets: list[str]
    calibration: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def _digits_family(request: ExportRequest, config: DigitsConfig) -> Family:
    data = load_mnist(request.data_dir)
    evaluation = parity.Evaluation(
        {digits.INPUT_NAME: digits.to_model_input(data.x_test)},
        decide=lambda probabilities: probabilities.argmax(axis=1),
        labels=data.y_test.astype(np.int64),
    )
    # Static int8 calibrates on training digits: the test set stays for measuring.
    calibration = {digits.INPUT_NAME: digits.to_model_input(data.x_train[:500])}
    return Family("digit-classification", ImagePreprocessing(), evaluation, [], calibration)


def _sentiment_family(request: ExportRequest, config: SentimentConfig) -> Family:
    data = load_imdb(request.data_dir)
    vocabulary_path = request.run_dir / VOCABULARY_FILE
    vocabulary = text.Vocabulary.load(vocabulary_path)
    tokens = text.encode_batch(vocabulary, data.test_texts, config.sequence_length)
    evaluation = parity.Evaluation(
        {sentiment.INPUT_NAME: tokens},
        decide=lambda scores: (scores[:, 0] >= 0.5).astype(np.int64),
        labels=data.test_labels,
    )
    preprocessing = TextPreprocessing(
        standardisation=list(text.STANDARDISATION_RULES),
        vocabulary_file=VOCABULARY_FILE,
        vocabulary_sha256=sha256_file(vocabulary_path),
        vocabulary_size=len(vocabulary),
        sequence_length=config.sequence_length,
    )
    return Family("sentiment", preprocessing, evaluation, [VOCABULARY_FILE])


def _gan_family(request: ExportRequest, config: GanConfig) -> Family:
    names = [gan.NOISE_NAME, gan.LABEL_NAME][: 2 if config.conditional else 1]
    inputs = gan_quality.sample_inputs(config, parity.PARITY_SAMPLES)
    evaluation = parity.Evaluation(
        dict(zip(names, inputs, strict=True)), decide=gan.to_pixels, decisions_must_agree=False
    )
    preprocessing = NoisePreprocessing(latent_dim=config.latent_dim, conditional=config.conditional)
    return Family("digit-generation", preprocessing, evaluation, [])


FAMILIES = {
    DigitsConfig: _digits_family,
    SentimentConfig: _sentiment_family,
    GanConfig: _gan_family,
}


def trained_config(name: str, report: dict[str, object]) -> ModelConfig:
    """The configuration the model was actually trained with, as its report recorded it."""
    return type(MODELS[name])(**report["config"])  # type: ignore[arg-type]


def export(request: ExportRequest) -> ModelMetadata:
    """Convert, lint and verify one model, then write it into the repository."""
    report = read_report(request.run_dir)
    config = trained_config(request.name, report)
    family = FAMILIES[type(config)](request, config)  # type: ignore[operator]
    keras_path = request.run_dir / MODEL_FILE
    model = keras.models.load_model(keras_path)

    proto = convert.to_onnx(model, request.opset)
    warnings = lint.lint(
        proto, list(family.evaluation.inputs), list(model.output_names), request.opset
    )
    with tempfile.TemporaryDirectory() as scratch:
        staged = Path(scratch) / ONNX_FILE
        onnx.save(proto, str(staged))
        session = ort.InferenceSession(str(staged), providers=["CPUExecutionProvider"])
        metrics: dict[str, float] = report["metrics"]  # type: ignore[assignment]
        verified = parity.check(model, session, family.evaluation, metrics.get("test_accuracy"))
        request.target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staged, request.target / ONNX_FILE)
    for asset in family.assets:
        shutil.copyfile(request.run_dir / asset, request.target / asset)
    onnx_path = request.target / ONNX_FILE
    built = [
        variants.build(
            precision,
            onnx_path,
            family.task,
            family.evaluation,
            family.calibration,
            verified.onnx_accuracy,
        )
        for precision in request.precisions
        if verified.onnx_accuracy is not None  # generators have no accuracy to hold a variant to
    ]

    metadata = ModelMetadata(
        name=request.name,
        version=request.version,
        task=family.task,
        architecture=model.name,
        inputs=convert.tensor_specs(list(proto.graph.input)),
        outputs=convert.tensor_specs(list(proto.graph.output)),
        labels=report["labels"],
        preprocessing=family.preprocessing,
        training_config={
            **report["config"],  # type: ignore[dict-item]
            **{key: report[key] for key in ("profile", "epochs_run", "duration_s", "seed")},
            # GANs keep their best judged epoch, which need not be the last.
            **({"selected_epoch": report["selected_epoch"]} if "selected_epoch" in report else {}),
            "data_sha256": report["data_sha256"],
            "export_warnings": warnings,
        },
        metrics=metrics,
        parity=verified,
        variants=built,
        cpu_latency_ms=variants.latency_ms(
            variants.cpu_session(onnx_path), family.evaluation.head(64)
        ),
        opset=request.opset,
        onnx_sha256=sha256_file(onnx_path),
        onnx_size_bytes=onnx_path.stat().st_size,
        source_keras_sha256=sha256_file(keras_path),
        created_at=datetime.now(UTC).replace(microsecond=0),
        library_versions={
            **library_versions(),
            "tf2onnx": tf2onnx.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
        },
    )
    write_metadata(request.target, metadata)
    logger.info("exported %s v%s: %s", request.name, request.version, verified)
    if request.tensorrt:
        logger.info("%s: %s", request.name, tensorrt.prebuild_engines(request.target, metadata))
    return metadata
