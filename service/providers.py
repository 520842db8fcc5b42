"""Choosing onnxruntime execution providers and their options: pure functions, testable on a CPU.

The order of preference is TensorRT → CUDA → CPU. Each provider gets options from the model's
metadata (TensorRT engine cache, fp16, timing cache, optimisation-profile shapes).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from contract.metadata import ModelMetadata
from contract.tensorrt import tensorrt_provider_options

logger = logging.getLogger(__name__)

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
PREFERENCE = (TENSORRT, CUDA, CPU)
ALIASES = {"tensorrt": TENSORRT, "trt": TENSORRT, "cuda": CUDA, "cpu": CPU}

ProviderConfig = list[tuple[str, dict[str, str]]]


def normalise(name: str) -> str:
    """Full onnxruntime provider name for a short alias ("cuda") or a full name."""
    return ALIASES.get(name.strip().lower(), name.strip())


def choose_providers(requested: Sequence[str] | None, available: Sequence[str]) -> list[str]:
    """Providers to try, best first: the request (or the default order) that is available, + CPU.

    Unavailable providers are dropped with a warning rather than failing, so one configuration
    serves on GPU hosts and on a laptop; CPU always closes the list as the last resort.
    """
    wanted = [normalise(name) for name in requested] if requested else list(PREFERENCE)
    missing = [name for name in wanted if name not in available and name != CPU]
    if requested and missing:
        logger.warning("providers %s are not available here (have %s)", missing, list(available))
    chosen = [name for name in dict.fromkeys(wanted) if name in available and name != CPU]
    return [*chosen, CPU]


def fallback_chain(providers: Sequence[str]) -> list[list[str]]:
    """Provider lists to try in turn: drop the best one after each failure, down to CPU alone."""
    return [list(providers[i:]) for i in range(len(providers))]


def unusable(tried: Sequence[str], used: Sequence[str]) -> list[str]:
    """GPU providers onnxruntime dropped while creating a session (missing CUDA libraries, no GPU).

    onnxruntime-gpu lists CUDA and TensorRT as available even where their libraries are missing,
    then silently falls back; the registry stops offering these to later models.
    """
    return [name for name in tried if name not in used and name != CPU]


def tensorrt_options(metadata: ModelMetadata, model_dir: Path) -> dict[str, str]:
    """TensorrtExecutionProvider options from `metadata.tensorrt`.

    The engine cache sits beside the model, where the export stage pre-builds it, so a first start
    on a GPU host reuses those engines instead of building for minutes.
    """
    cache = Path(metadata.tensorrt.engine_cache_dir)
    cache = cache if cache.is_absolute() else model_dir / cache
    return tensorrt_provider_options(metadata.tensorrt, metadata.inputs, cache)


def cuda_options(device_id: int = 0) -> dict[str, str]:
    """CUDAExecutionProvider options."""
    return {
        "device_id": str(device_id),
        # Dynamic batching makes every batch size a new shape; EXHAUSTIVE would benchmark cuDNN
        # algorithms again for each, a latency spike per new size. HEURISTIC decides at once.
        "cudnn_conv_algo_search": "HEURISTIC",
        "arena_extend_strategy": "kSameAsRequested",
    }


def provider_config(
    providers: Sequence[str], metadata: ModelMetadata, model_dir: Path
) -> ProviderConfig:
    """(name, options) pairs for `onnxruntime.InferenceSession(providers=...)`."""
    builders = {
        TENSORRT: lambda: tensorrt_options(metadata, model_dir),
        CUDA: cuda_options,
    }
    return [(name, builders[name]() if name in builders else {}) for name in providers]
