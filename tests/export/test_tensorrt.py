"""TensorRT engines are pre-built where TensorRT exists, and skipped cleanly everywhere else."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

from contract.repository import read_metadata
from export import tensorrt
from tests.helpers.tiny_models import build_repository


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return build_repository(tmp_path, ("digits-mlp",)) / "digits-mlp" / "1"


def test_a_cpu_only_machine_skips_with_a_reason(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tensorrt.ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    answer = tensorrt.prebuild_engines(folder, read_metadata(folder))
    assert answer == "TensorRT not available, skipped"
    assert not (folder / "trt-cache").exists()


def test_the_provider_without_its_library_is_not_available(monkeypatch: pytest.MonkeyPatch) -> None:
    # onnxruntime-gpu lists the provider on every machine; libnvinfer decides.
    monkeypatch.setattr(tensorrt.ort, "get_available_providers", lambda: [tensorrt.PROVIDER])

    def no_library(name: str) -> ctypes.CDLL:
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(tensorrt.ctypes, "CDLL", no_library)
    assert not tensorrt.available()


@pytest.mark.gpu
def test_engines_are_cached_where_tensorrt_exists(folder: Path) -> None:
    if not tensorrt.available():
        pytest.skip("TensorRT is not installed here")
    answer = tensorrt.prebuild_engines(folder, read_metadata(folder))
    assert answer == f"TensorRT engines cached in {folder / 'trt-cache'}"
    assert any((folder / "trt-cache").iterdir()), "no engine was written"
