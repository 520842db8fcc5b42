"""Provider choice and options, with fake provider lists: no GPU needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.repository import read_metadata
from service.providers import (
    CPU,
    CUDA,
    TENSORRT,
    choose_providers,
    cuda_options,
    fallback_chain,
    provider_config,
    tensorrt_options,
    unusable,
)
from tests.helpers.tiny_models import build_repository

GPU_HOST = [TENSORRT, CUDA, CPU]
CPU_HOST = [CPU]


@pytest.mark.parametrize(
    ("requested", "available", "expected"),
    [
        (None, GPU_HOST, [TENSORRT, CUDA, CPU]),
        (None, [CUDA, CPU], [CUDA, CPU]),
        (None, CPU_HOST, [CPU]),
        (["cuda"], GPU_HOST, [CUDA, CPU]),
        (["cuda", "cpu"], CPU_HOST, [CPU]),
        (["CPUExecutionProvider"], GPU_HOST, [CPU]),
        (["tensorrt", "cuda"], GPU_HOST, [TENSORRT, CUDA, CPU]),
        (["cuda", "cuda"], GPU_HOST, [CUDA, CPU]),
    ],
)
def test_choose_providers_keeps_available_ones_and_always_ends_on_cpu(
    requested: list[str] | None, available: list[str], expected: list[str]
) -> None:
    assert choose_providers(requested, available) == expected


def test_fallback_chain_drops_the_best_provider_after_each_failure() -> None:
    assert fallback_chain([TENSORRT, CUDA, CPU]) == [[TENSORRT, CUDA, CPU], [CUDA, CPU], [CPU]]
    assert fallback_chain([CPU]) == [[CPU]]


def test_unusable_names_gpu_providers_onnxruntime_silently_dropped() -> None:
    assert unusable([TENSORRT, CUDA, CPU], [CPU]) == [TENSORRT, CUDA]
    assert unusable([TENSORRT, CUDA, CPU], [TENSORRT, CUDA, CPU]) == []


@pytest.fixture(scope="module")
def metadata_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build_repository(tmp_path_factory.mktemp("repo"), ("digits-cnn", "gan-conditional"))
    return root


def test_tensorrt_options_come_from_metadata(metadata_dir: Path) -> None:
    folder = metadata_dir / "gan-conditional" / "1"
    options = tensorrt_options(read_metadata(folder), folder)
    assert options["trt_fp16_enable"] == "True"
    assert options["trt_engine_cache_enable"] == "True"
    assert options["trt_engine_cache_path"] == str(folder / "trt-cache")
    assert options["trt_timing_cache_enable"] == "True"
    # Every input gets a profile; the batch axis takes min/opt/max, other axes stay fixed.
    assert options["trt_profile_min_shapes"] == "noise:1x100,label:1"
    assert options["trt_profile_opt_shapes"] == "noise:16x100,label:16"
    assert options["trt_profile_max_shapes"] == "noise:64x100,label:64"


def test_provider_config_pairs_each_provider_with_its_options(metadata_dir: Path) -> None:
    folder = metadata_dir / "digits-cnn" / "1"
    config = provider_config([TENSORRT, CUDA, CPU], read_metadata(folder), folder)
    assert [name for name, _ in config] == [TENSORRT, CUDA, CPU]
    assert config[0][1]["trt_profile_max_shapes"] == "image:64x28x28x1"
    assert config[1][1] == cuda_options()
    assert config[2][1] == {}


def test_cuda_options_avoid_per_shape_exhaustive_search() -> None:
    assert cuda_options(1) == {
        "device_id": "1",
        "cudnn_conv_algo_search": "HEURISTIC",
        "arena_extend_strategy": "kSameAsRequested",
    }
