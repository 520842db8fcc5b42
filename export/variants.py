"""Reduced-precision copies (fp16, int8), each re-verified and kept only if accuracy holds."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxconverter_common import float16
from onnxruntime import quantization

from contract.metadata import Task, Variant
from contract.repository import sha256_file
from export import parity

# A variant may cost at most 0.3 accuracy points against the fp32 export.
MAX_ACCURACY_DROP = 0.003
LATENCY_BATCHES = (1, 64)


def cpu_session(path: Path) -> ort.InferenceSession:
    """A single-threaded CPU session, so latencies compare like with like."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def latency_ms(session: ort.InferenceSession, inputs: dict[str, np.ndarray]) -> dict[str, float]:
    """Median latency at each of LATENCY_BATCHES, after a warm-up run."""
    medians = {}
    for batch in LATENCY_BATCHES:
        feed = {name: array[:batch] for name, array in inputs.items()}
        session.run(None, feed)
        timings = []
        for _ in range(30 if batch == 1 else 10):
            started = time.perf_counter()
            session.run(None, feed)
            timings.append((time.perf_counter() - started) * 1000)
        medians[f"batch_{batch}"] = round(float(np.median(timings)), 4)
    return medians


class _Calibration(quantization.CalibrationDataReader):  # type: ignore[misc]
    def __init__(self, inputs: dict[str, np.ndarray], batch_size: int = 50) -> None:
        rows = len(next(iter(inputs.values())))
        self._batches = iter(
            [
                {k: v[i : i + batch_size] for k, v in inputs.items()}
                for i in range(0, rows, batch_size)
            ]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def write_fp16(source: Path, target: Path) -> None:
    """Weights and activations in fp16; inputs and outputs stay fp32 for the service."""
    onnx.save(
        float16.convert_float_to_float16(onnx.load(str(source)), keep_io_types=True), str(target)
    )


def write_int8(source: Path, target: Path, task: Task, calibration: dict[str, np.ndarray]) -> None:
    """Dynamic quantisation for recurrent/attention models, static QDQ for convolutional ones."""
    if task == "sentiment":
        quantization.quantize_dynamic(source, target, weight_type=quantization.QuantType.QInt8)
    else:
        quantization.quantize_static(
            source,
            target,
            _Calibration(calibration),
            quant_format=quantization.QuantFormat.QDQ,
            per_channel=True,
        )


def _unbuildable(precision: str, target: Path, error: Exception) -> Variant:
    target.unlink(missing_ok=True)
    return Variant(
        precision=precision,
        file=target.name,
        sha256="",
        size_bytes=0,
        accuracy=None,
        accuracy_delta=None,
        latency_ms={},
        kept=False,
        reason=f"could not be built: {str(error)[:300]}",
    )


def _measured(
    precision: str,
    target: Path,
    session: ort.InferenceSession,
    evaluation: parity.Evaluation,
    baseline_accuracy: float,
) -> Variant:
    """Accuracy and latency of a written variant, kept only if accuracy holds."""
    accuracy = parity.accuracy(session, evaluation)
    delta = None if accuracy is None else accuracy - baseline_accuracy
    kept = delta is not None and delta >= -MAX_ACCURACY_DROP
    return Variant(
        precision=precision,
        file=target.name,
        sha256=sha256_file(target),
        size_bytes=target.stat().st_size,
        accuracy=accuracy,
        accuracy_delta=delta,
        latency_ms=latency_ms(session, evaluation.head(64)),
        kept=kept,
        reason="accuracy within 0.3 points of fp32" if kept else "loses more than 0.3 points",
    )


def build(
    precision: str,
    source: Path,
    task: Task,
    evaluation: parity.Evaluation,
    calibration: dict[str, np.ndarray],
    baseline_accuracy: float,
) -> Variant:
    """Write one variant beside `source`, measure it, and delete it again if it loses accuracy."""
    target = source.with_name(f"model.{precision}.onnx")
    try:
        if precision == "fp16":
            write_fp16(source, target)
        else:
            write_int8(source, target, task, calibration)
        session = cpu_session(target)
    except Exception as error:  # converters and onnxruntime raise many types; all mean "no"
        return _unbuildable(precision, target, error)
    variant = _measured(precision, target, session, evaluation, baseline_accuracy)
    if not variant.kept:
        target.unlink()
    return variant
