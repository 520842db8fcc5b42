"""onnxruntime's TensorRT options for a model: one definition for export and the service.

Export pre-builds engines into the version folder's cache and the service opens its sessions with
these same options; TensorRT finds a cached engine only when the options match exactly.
"""

from __future__ import annotations

from pathlib import Path

from contract.metadata import TensorRTConfig, TensorSpec


def tensorrt_provider_options(
    config: TensorRTConfig, inputs: list[TensorSpec], cache_dir: Path
) -> dict[str, str]:
    """onnxruntime TensorrtExecutionProvider options: fp16, caches, one profile for 1..max."""

    def shapes(batch: int) -> str:
        return ",".join(
            f"{spec.name}:" + "x".join(str(d) for d in spec.shape_for(batch)) for spec in inputs
        )

    return {
        "trt_fp16_enable": str(config.fp16),
        "trt_engine_cache_enable": "True",
        "trt_engine_cache_path": str(cache_dir),
        "trt_timing_cache_enable": str(config.timing_cache),
        "trt_timing_cache_path": str(cache_dir),
        "trt_profile_min_shapes": shapes(config.min_batch),
        "trt_profile_opt_shapes": shapes(config.opt_batch),
        "trt_profile_max_shapes": shapes(config.max_batch),
    }
