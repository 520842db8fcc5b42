"""Optional TensorRT: pre-build the engine cache where TensorRT exists, skip cleanly elsewhere."""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort

from contract.metadata import ModelMetadata
from contract.repository import ONNX_FILE
from contract.tensorrt import tensorrt_provider_options

logger = logging.getLogger(__name__)

PROVIDER = "TensorrtExecutionProvider"
_LIBRARIES = ("libnvinfer.so.10", "libnvinfer.so.8", "libnvinfer.so")


def available() -> bool:
    """onnxruntime lists the TensorRT provider on every GPU build; the library must load too."""
    if PROVIDER not in ort.get_available_providers():
        return False
    for library in _LIBRARIES:
        try:
            ctypes.CDLL(library)
        except OSError:
            continue
        return True
    return False


def prebuild_engines(folder: Path, metadata: ModelMetadata) -> str:
    """Build and cache the engines for the model's batch profile; say what happened."""
    if not available():
        return "TensorRT not available, skipped"
    cache = folder / metadata.tensorrt.engine_cache_dir
    cache.mkdir(exist_ok=True)
    options = tensorrt_provider_options(metadata.tensorrt, metadata.inputs, cache)
    session = ort.InferenceSession(
        str(folder / ONNX_FILE), providers=[(PROVIDER, options), "CPUExecutionProvider"]
    )
    config = metadata.tensorrt
    for batch in sorted({config.min_batch, config.opt_batch, config.max_batch}):
        feed = {spec.name: np.zeros(spec.shape_for(batch), spec.dtype) for spec in metadata.inputs}
        session.run(None, feed)
    return f"TensorRT engines cached in {cache}"
