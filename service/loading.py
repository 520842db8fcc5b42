"""Loading one model version: validate metadata, verify checksums, open a session, warm it up.

Synchronous on purpose: the registry runs it in a worker thread, so the event loop keeps
answering /healthz while a TensorRT engine builds.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from contract.metadata import ModelMetadata, TensorSpec
from contract.repository import read_metadata, sha256_file
from contract.text import Vocabulary
from service.providers import fallback_chain, provider_config

logger = logging.getLogger(__name__)


class ModelLoadError(Exception):
    """A model version cannot be served; the message says what is wrong with it.

    Files are named by their full path, for the log; callers see `without_repository(message)`.
    """


def without_repository(message: str, repository: Path) -> str:
    """`message` with the repository's location cut from its paths: `digits-mlp/1/model.onnx`.

    What a caller sees names no server path; every spelling of the location is cut (as
    configured, absolute, symlinks resolved), and only where a path starts, never mid-word.
    """
    spellings = {str(repository), str(repository.absolute()), str(repository.resolve())}
    longest_first = sorted(spellings, key=len, reverse=True)
    location = "|".join(re.escape(spelling.rstrip(os.sep) + os.sep) for spelling in longest_first)
    return re.sub(rf"(?<![\w.~{re.escape(os.sep)}-])(?:{location})", "", message)


@dataclass(frozen=True)
class LoadedModel:
    """A verified, warmed-up model version."""

    metadata: ModelMetadata
    session: ort.InferenceSession
    providers: list[str]  # what onnxruntime actually uses, best first
    vocabulary: Vocabulary | None
    warm_rows_per_s: float  # the largest warm-up batch's pace: the service rate before requests

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One `session.run`, outputs by name (thread-safe: onnxruntime allows concurrent runs)."""
        names = [spec.name for spec in self.metadata.outputs]
        return dict(zip(names, self.session.run(names, feeds), strict=True))


def load_model(
    folder: Path, providers: Sequence[str], *, intra_op_threads: int | None = None
) -> LoadedModel:
    """Load the version in `folder`, or raise ModelLoadError saying why it cannot be served.

    `providers` is tried best first; if a session cannot be created or warmed up on them, the
    best one is dropped and the rest tried, down to CPU alone.
    """
    metadata = _read(folder)
    _verify(folder / metadata.onnx_file, metadata.onnx_sha256, "model")
    vocabulary = _vocabulary(folder, metadata)
    attempts = fallback_chain(providers)
    for attempt, names in enumerate(attempts, start=1):
        try:
            session = _open(folder, metadata, names, intra_op_threads)
            rows_per_s = warm_up(session, metadata)
        except ModelLoadError:
            raise
        except Exception as exc:
            if attempt == len(attempts):
                raise ModelLoadError(f"onnxruntime cannot run {folder}: {exc}") from exc
            logger.warning(
                "%s failed on %s (%s); trying %s", metadata.name, names[0], exc, names[1:]
            )
            continue
        return LoadedModel(metadata, session, session.get_providers(), vocabulary, rows_per_s)
    raise AssertionError("fallback_chain always ends with CPU alone")


def _read(folder: Path) -> ModelMetadata:
    try:
        metadata = read_metadata(folder)
    except FileNotFoundError as exc:
        raise ModelLoadError(f"{folder} has no metadata.json") from exc
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors()[:5])
        raise ModelLoadError(f"{folder}/metadata.json is invalid: {problems}") from exc
    if metadata.name != folder.parent.name or metadata.version != folder.name:
        raise ModelLoadError(
            f"{folder}/metadata.json describes {metadata.name} version {metadata.version}; "
            f"expected {folder.parent.name} version {folder.name}"
        )
    return metadata


def _problem(error: ErrorDetails) -> str:
    """One validation error on one line: where, what, and the value found (log lines stay lines)."""
    location = ".".join(str(part) for part in error["loc"]) or "document"
    found = f" (got {error['input']!r:.60})" if error["type"] != "missing" else ""
    return f"{location}: {error['msg']}{found}"


def _verify(path: Path, expected: str, what: str) -> None:
    if not path.is_file():
        raise ModelLoadError(f"{what} file {path} is missing")
    actual = sha256_file(path)
    if actual != expected:
        raise ModelLoadError(
            f"{what} file {path} has sha256 {actual[:12]}…, metadata says {expected[:12]}…; "
            "the file is corrupt or does not belong to this metadata"
        )


def _vocabulary(folder: Path, metadata: ModelMetadata) -> Vocabulary | None:
    preprocessing = metadata.preprocessing
    if preprocessing.kind != "text":
        return None
    path = folder / preprocessing.vocabulary_file
    _verify(path, preprocessing.vocabulary_sha256, "vocabulary")
    vocabulary = Vocabulary.load(path)
    if len(vocabulary) != preprocessing.vocabulary_size:
        raise ModelLoadError(
            f"{path} has {len(vocabulary)} tokens; metadata says {preprocessing.vocabulary_size}"
        )
    return vocabulary


def _open(
    folder: Path, metadata: ModelMetadata, providers: Sequence[str], threads: int | None
) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # One batch at a time per model: parallelism inside an operator is what helps, not across.
    options.inter_op_num_threads = 1
    if threads is not None:
        options.intra_op_num_threads = threads
    # onnxruntime's threads busy-wait after each run by default. Here they would take CPU from the
    # event loop that parses requests (measured on 2 cores: 2.2 → 0.9 ms CPU per digit request).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # onnxruntime print()s its own provider fallback ("EP Error ...") to stdout; route it to the log
    # so that JSON logs stay JSON.
    with contextlib.redirect_stdout(io.StringIO()) as chatter:
        session = ort.InferenceSession(
            str(folder / metadata.onnx_file),
            sess_options=options,
            providers=provider_config(providers, metadata, folder),
        )
    if chatter.getvalue().strip():
        logger.warning("onnxruntime on %s: %s", metadata.name, " ".join(chatter.getvalue().split()))
    _check_signature(session, metadata)
    return session


def _check_signature(session: ort.InferenceSession, metadata: ModelMetadata) -> None:
    actual = (
        sorted(i.name for i in session.get_inputs()),
        sorted(o.name for o in session.get_outputs()),
    )
    expected = sorted(s.name for s in metadata.inputs), sorted(s.name for s in metadata.outputs)
    if actual != expected:
        raise ModelLoadError(
            f"model.onnx has inputs/outputs {actual}; metadata.json declares {expected}"
        )


def warm_up(session: ort.InferenceSession, metadata: ModelMetadata) -> float:
    """Run the smallest and the largest batch once; rows per second of the largest.

    Allocations and kernel choices happen now. The outputs are checked too, so a model that loads
    but computes garbage never turns ready.
    """
    names = [spec.name for spec in metadata.outputs]
    for batch in sorted({1, metadata.batching.max_batch_size}):
        feeds = {spec.name: placeholder(spec, batch) for spec in metadata.inputs}
        started = time.perf_counter()
        outputs = session.run(names, feeds)
        seconds = time.perf_counter() - started
        for spec, output in zip(metadata.outputs, outputs, strict=True):
            expected = spec.shape_for(batch)
            if output.shape != expected or not np.isfinite(output).all():
                raise ModelLoadError(
                    f"warm-up output {spec.name} has shape {output.shape} (expected {expected}) "
                    f"or non-finite values"
                )
    return batch / max(seconds, 1e-6)


def placeholder(spec: TensorSpec, batch: int) -> np.ndarray:
    """Zeros shaped like `spec` with `batch` rows (zero is valid for every input we serve)."""
    return np.zeros(spec.shape_for(batch), dtype=spec.dtype)
