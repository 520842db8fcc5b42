"""What travels: the serving dependencies and all they need on the device, pinned as tested here."""

from __future__ import annotations

from importlib import metadata

from packaging.requirements import Requirement

from loadtest.gpu import wheels
from loadtest.server import ROOT


def closure() -> dict[str, str]:
    roots = wheels.project_requirements(ROOT / "pyproject.toml")
    return wheels.serving_closure(roots, wheels.DEVICE_PYTHON)


def test_the_closure_holds_the_service_and_what_it_needs() -> None:
    found = closure()
    # pydantic-core and starlette come in only through fastapi and pydantic; httptools only
    # through uvicorn's [standard] extra; onnxruntime-gpu only through its Linux x86-64 marker.
    for name in ("fastapi", "starlette", "pydantic-core", "httptools", "onnxruntime-gpu"):
        assert name in found, name
    assert "onnxruntime" not in found, "the CPU package is for other platforms"


def test_pins_are_the_versions_installed_here() -> None:
    assert all(version == metadata.version(name) for name, version in closure().items())


def test_what_the_device_has_stays_home() -> None:
    carried = wheels.to_carry(closure())
    assert not wheels.ON_DEVICE & set(carried)
    assert "onnxruntime-gpu" in carried


def test_markers_are_read_for_the_device_python() -> None:
    environment = wheels.device_environment("3.12")
    old_only = Requirement("exceptiongroup; python_version < '3.11'")
    assert old_only.marker is not None
    assert not old_only.marker.evaluate(environment)
    linux_gpu = Requirement("x; platform_system == 'Linux' and platform_machine == 'x86_64'")
    assert linux_gpu.marker is not None
    assert linux_gpu.marker.evaluate(environment)
