"""Export one trained model into the repository: load → verify → write → describe.

Verifying converts, lints and checks parity in memory, so nothing reaches the repository unless all
three pass. What `metadata.json` says about training (task, preprocessing, labels, configuration,
metrics) comes from the run's `TrainingReport`; export measures the rest itself.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import keras
import onnx
import onnxruntime as ort
import tf2onnx

from contract.artifacts import MODEL_FILE, TrainingReport, read_report, run_dir
from contract.metadata import ModelMetadata, Parity, Task, TextPreprocessing, Variant
from contract.repository import ONNX_FILE, sha256_file, version_dir, write_metadata
from export import convert, lint, parity, tensorrt, variants
from export.evaluation import CheckData, check_data
from training.layers import load_model

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
        return run_dir(self.artifacts, self.name)

    @property
    def target(self) -> Path:
        return version_dir(self.repository, self.name, self.version)


@dataclasses.dataclass(frozen=True)
class Trained:
    """Training's hand-off: the run's folder, its report and its Keras model."""

    folder: Path
    report: TrainingReport
    model: keras.Model

    @property
    def keras_path(self) -> Path:
        return self.folder / MODEL_FILE

    @property
    def input_names(self) -> list[str]:
        return [tensor.name for tensor in self.model.inputs]


@dataclasses.dataclass(frozen=True)
class Verified:
    """A converted graph that passed lint and parity, and what those checks recorded."""

    proto: onnx.ModelProto
    warnings: list[str]
    parity: Parity


@dataclasses.dataclass(frozen=True)
class Written:
    """What went into the version folder, as measured there."""

    onnx_path: Path
    variants: list[Variant]
    cpu_latency_ms: dict[str, float]


def load_trained(folder: Path) -> Trained:
    """Read a training run's report and load its model."""
    report = read_report(folder)
    return Trained(folder, report, load_model(folder / MODEL_FILE))


def verify(trained: Trained, evaluation: parity.Evaluation, opset: int) -> Verified:
    """Convert, lint and check parity; raise at the first stage the model fails."""
    proto = convert.to_onnx(trained.model, opset)
    warnings = lint.lint(proto, trained.input_names, list(trained.model.output_names), opset)
    # onnxruntime reads the graph from memory: nothing is written before parity has passed.
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    reported = trained.report.metrics.get("test_accuracy")
    return Verified(proto, warnings, parity.check(trained.model, session, evaluation, reported))


def assets(report: TrainingReport) -> list[str]:
    """Files the service needs beside `model.onnx`: a text model's vocabulary."""
    preprocessing = report.preprocessing
    return [preprocessing.vocabulary_file] if isinstance(preprocessing, TextPreprocessing) else []


def write_model(trained: Trained, verified: Verified, target: Path) -> Path:
    """Write the verified graph and its preprocessing assets; return the graph's path."""
    target.mkdir(parents=True, exist_ok=True)
    onnx.save(verified.proto, str(target / ONNX_FILE))
    for asset in assets(trained.report):
        shutil.copyfile(trained.folder / asset, target / asset)
    return target / ONNX_FILE


def build_variants(
    precisions: tuple[str, ...],
    onnx_path: Path,
    task: Task,
    data: CheckData,
    baseline: float | None,
) -> list[Variant]:
    """The requested reduced-precision copies, each re-verified against the fp32 accuracy."""
    if baseline is None:  # generators have no accuracy to hold a variant to
        return []
    return [
        variants.build(p, onnx_path, task, data.evaluation, data.calibration, baseline)
        for p in precisions
    ]


def write(request: ExportRequest, trained: Trained, verified: Verified, data: CheckData) -> Written:
    """Write the verified model and its variants, then time the fp32 graph on one CPU thread."""
    onnx_path = write_model(trained, verified, request.target)
    baseline = verified.parity.onnx_accuracy
    built = build_variants(request.precisions, onnx_path, trained.report.task, data, baseline)
    session = variants.cpu_session(onnx_path)
    return Written(onnx_path, built, variants.latency_ms(session, data.evaluation.head(64)))


def training_config(report: TrainingReport, warnings: list[str]) -> dict[str, object]:
    """The report's hyper-parameters and run facts, with the export's warnings."""
    # GANs keep their best judged epoch, which need not be the last.
    selected = {} if report.selected_epoch is None else {"selected_epoch": report.selected_epoch}
    return {
        **report.config,
        "profile": report.profile,
        "epochs_run": report.epochs_run,
        "duration_s": report.duration_s,
        "seed": report.seed,
        **selected,
        "data_sha256": report.data_sha256,
        "export_warnings": warnings,
    }


def library_versions(report: TrainingReport) -> dict[str, str]:
    """The stack that trained the model, and the one that converted and verified it."""
    return {
        **report.library_versions,
        "tf2onnx": tf2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
    }


def describe(
    request: ExportRequest, trained: Trained, verified: Verified, written: Written
) -> ModelMetadata:
    """`metadata.json`: the report's contract and figures beside what the export measured."""
    report, graph = trained.report, verified.proto.graph
    return ModelMetadata(
        name=request.name,
        version=request.version,
        task=report.task,
        architecture=trained.model.name,
        inputs=convert.tensor_specs(list(graph.input)),
        outputs=convert.tensor_specs(list(graph.output)),
        labels=report.labels,
        preprocessing=report.preprocessing,
        training_config=training_config(report, verified.warnings),
        metrics=report.metrics,
        parity=verified.parity,
        variants=written.variants,
        cpu_latency_ms=written.cpu_latency_ms,
        opset=request.opset,
        onnx_sha256=sha256_file(written.onnx_path),
        onnx_size_bytes=written.onnx_path.stat().st_size,
        source_keras_sha256=sha256_file(trained.keras_path),
        created_at=datetime.now(UTC).replace(microsecond=0),
        library_versions=library_versions(report),
    )


def export(request: ExportRequest) -> ModelMetadata:
    """Convert, lint and verify one model, then write it into the repository."""
    trained = load_trained(request.run_dir)
    data = check_data(trained.report, trained.input_names, request.run_dir, request.data_dir)
    verified = verify(trained, data.evaluation, request.opset)
    metadata = describe(request, trained, verified, write(request, trained, verified, data))
    write_metadata(request.target, metadata)
    logger.info("exported %s v%s: %s", request.name, request.version, verified.parity)
    if request.tensorrt:
        logger.info("%s: %s", request.name, tensorrt.prebuild_engines(request.target, metadata))
    return metadata
