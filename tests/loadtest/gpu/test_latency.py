"""Raw latency per provider: rows only where the provider really ran, and the reason where not."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
import pytest

from loadtest.gpu import latency
from loadtest.gpu.inputs import synthetic_inputs
from tests.helpers.tiny_models import TINY_BATCH


@pytest.mark.parametrize(
    ("requested", "chain"),
    [
        (
            "tensorrt",
            ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
        ),
        ("cuda", ["CUDAExecutionProvider", "CPUExecutionProvider"]),
        ("cpu", ["CPUExecutionProvider"]),
    ],
)
def test_each_provider_falls_back_as_the_service_would(requested: str, chain: list[str]) -> None:
    assert latency.provider_chain(requested) == chain  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("limit", "sizes"), [(64, [1, 64]), (16, [1, 16]), (1, [1]), (128, [1, 64])]
)
def test_batch_64_is_cut_to_what_the_model_allows(limit: int, sizes: list[int]) -> None:
    assert latency.batch_sizes(limit) == sizes


def test_a_model_on_cpu_gets_rows_at_both_batches(tiny_models: Path) -> None:
    load, loaded = latency.open_model(tiny_models / "digits-cnn" / "1", "cpu")
    assert loaded is not None, load.error
    rows = latency.measure(loaded, "cpu", synthetic_inputs(), seconds=0.01)
    assert [row.batch for row in rows] == [1, TINY_BATCH]
    assert all(row.provider == "CPUExecutionProvider" and row.calls >= 3 for row in rows)


def test_a_provider_missing_from_the_build_is_reported_not_loaded(
    tiny_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    load, loaded = latency.open_model(tiny_models / "digits-cnn" / "1", "cuda")
    assert loaded is None
    assert load.provider is None
    assert load.error
    assert "not in this onnxruntime build" in load.error


def test_the_fallback_reason_is_onnxruntimes_own_words() -> None:
    native = [
        "\x1b[1;31m2026-12-01 [E:onnxruntime:Default, provider_bridge_ort.cc:2458 operator()] "
        "FAIL : Failed to load library libonnxruntime_providers_cuda.so with error: "
        "libcublasLt.so.13: cannot open shared object file\x1b[m",
        "an unrelated line",
    ]
    warnings = [
        "onnxruntime on m: *************** EP Error *************** Please install TensorRT"
    ]
    reason = latency.fallback_reason(native, warnings)
    assert reason.startswith("Failed to load library libonnxruntime_providers_cuda.so")
    assert "libcublasLt.so.13: cannot open shared object file |" in reason
    assert "EP Error" not in reason
    assert "\x1b" not in reason


def test_a_silent_fallback_says_so() -> None:
    assert latency.fallback_reason([], []) == "onnxruntime gave no reason"
