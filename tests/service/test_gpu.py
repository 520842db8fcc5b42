"""On a GPU host, models run on the GPU (TensorRT or CUDA), not on a silent CPU fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from service.loading import load_model
from service.providers import CPU, CUDA, TENSORRT, choose_providers
from tests.helpers.tiny_models import build_repository

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not Path("/dev/nvidia0").exists(), reason="needs an NVIDIA GPU"),
]


def test_a_model_runs_on_the_gpu(tmp_path: Path) -> None:
    root = build_repository(tmp_path, ("digits-cnn",))
    providers = choose_providers(None, ort.get_available_providers())
    loaded = load_model(root / "digits-cnn" / "1", providers)
    assert loaded.providers[0] in {TENSORRT, CUDA}, f"fell back to {loaded.providers}"
    on_cpu = load_model(root / "digits-cnn" / "1", [CPU])
    images = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(
        loaded.run({"image": images})["probabilities"],
        on_cpu.run({"image": images})["probabilities"],
        atol=1e-2,  # TensorRT runs fp16
    )
