"""deploy/docker/requirements.py: the list each image installs is pyproject.toml's pins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "docker" / "requirements.py"
ONNXRUNTIME = {"cpu": "onnxruntime", "gpu": "onnxruntime-gpu"}


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the script the way the Dockerfile does: a bare interpreter, no project imports."""
    command = [sys.executable, "-I", str(SCRIPT), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def requirements_for(*args: str) -> dict[str, Requirement]:
    result = run_script(*args)
    assert result.returncode == 0, result.stderr
    parsed = [Requirement(line) for line in result.stdout.splitlines()]
    return {canonicalize_name(req.name): req for req in parsed}


@pytest.mark.parametrize("flavour", ["cpu", "gpu"])
def test_image_installs_exactly_the_declared_serving_pins(
    flavour: str, serving_pins: dict[str, Requirement]
) -> None:
    listed = requirements_for(flavour)
    other = ONNXRUNTIME["gpu" if flavour == "cpu" else "cpu"]
    assert set(listed) == set(serving_pins) - {other}, f"{flavour} image installs {sorted(listed)}"
    for name, req in listed.items():
        assert req.specifier == serving_pins[name].specifier, f"{name} drifted from pyproject.toml"
        assert req.extras == serving_pins[name].extras, f"{name} lost its extras"
        assert req.marker is None, f"{name} keeps a marker; the image picks by target instead"
        assert str(req.specifier).startswith("=="), f"{name} is not pinned: {req.specifier}"


@pytest.mark.parametrize("flavour", ["cpu", "gpu"])
def test_runtime_lists_hold_no_training_stack(flavour: str) -> None:
    listed = requirements_for(flavour)
    assert not {"tensorflow", "keras", "tf2onnx", "onnx", "matplotlib"} & set(listed)


def test_cpu_list_has_the_cpu_build_only() -> None:
    listed = requirements_for("cpu")
    assert "onnxruntime" in listed
    assert "onnxruntime-gpu" not in listed, "both builds install the same `onnxruntime` module"


def test_train_extra_adds_the_training_stack(all_pins: dict[str, Requirement]) -> None:
    listed = requirements_for("cpu", "--extra", "train")
    assert listed["tensorflow"].specifier == all_pins["tensorflow"].specifier
    assert "onnxruntime-gpu" not in listed


def test_unknown_extra_is_refused_by_name() -> None:
    result = run_script("cpu", "--extra", "serving")
    assert result.returncode == 2
    assert "unknown extra ['serving']" in result.stderr, result.stderr


def test_pyproject_without_the_chosen_build_is_refused(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["numpy==2.4.6"]\n')
    result = run_script("gpu", "--pyproject", str(pyproject))
    assert result.returncode == 2
    assert "declares no onnxruntime-gpu requirement" in result.stderr, result.stderr
