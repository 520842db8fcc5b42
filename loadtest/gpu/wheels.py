"""Which wheels the device lacks, and fetching them from PyPI here (the device reaches nothing).

The list is not written by hand: it is the serving dependencies in pyproject.toml and everything
they need, evaluated for the device's Python, at the versions installed here (the ones the tests
pass with), minus what the device image already holds as compiled wheels.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

DEVICE_PYTHON = "3.12"
GPU_RUNTIME = "onnxruntime-gpu"
# On the device image already (KINDS.md), compiled, and used by the service through stable APIs:
# carrying them would cost whole calls (numpy alone is 16 MiB) for no change in what is measured.
ON_DEVICE = frozenset(
    {"numpy", "pillow", "uvloop", "pyyaml", "packaging", "protobuf", "flatbuffers", "sympy"}
)
# pip matches a manylinux tag's glibc version exactly, so name each one a wheel may carry; the
# device (Ubuntu 24.04, glibc 2.39) runs all of them.
PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in (17, 24, 26, 27, 28, 31, 34, 35)),
    "manylinux2014_x86_64",
    "manylinux1_x86_64",
)


class WheelError(RuntimeError):
    """A needed distribution is not installed here, or its wheel did not download."""


def device_environment(python_version: str) -> dict[str, str]:
    """PEP 508 marker values of the device: CPython `python_version` on x86-64 Linux."""
    return {
        "python_version": python_version,
        "python_full_version": f"{python_version}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
        "extra": "",
    }


def project_requirements(pyproject: Path) -> list[Requirement]:
    """The serving install's requirements, as pyproject.toml pins them."""
    project = tomllib.loads(pyproject.read_text())["project"]
    return [Requirement(line) for line in project["dependencies"]]


def serving_closure(roots: list[Requirement], python_version: str) -> dict[str, str]:
    """Every distribution the roots need on the device, name → the version installed here."""
    environment = device_environment(python_version)
    found: dict[str, str] = {}
    todo = [(root, frozenset({""})) for root in roots]
    while todo:
        requirement, extras = todo.pop()
        if requirement.marker and not any(
            requirement.marker.evaluate(environment | {"extra": extra}) for extra in extras
        ):
            continue
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        found[name] = _installed_version(name)
        wanted = frozenset({"", *requirement.extras})
        todo += [(Requirement(line), wanted) for line in metadata.requires(name) or []]
    return found


def to_carry(closure: dict[str, str]) -> dict[str, str]:
    """The closure without what the device already has."""
    return {name: version for name, version in sorted(closure.items()) if name not in ON_DEVICE}


def _installed_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError as exc:
        raise WheelError(
            f"{name} is needed on the device but not installed here; `make test` "
            "installs the serving dependencies"
        ) from exc


def download(pins: dict[str, str], folder: Path, python_version: str) -> list[Path]:
    """Fetch one wheel per pin into `folder` (kept ones are reused); other wheels there go.

    Two versions of one package would stop the install on the device, so stale ones are removed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    platforms = [flag for platform in PLATFORMS for flag in ("--platform", platform)]
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps"]
    command += ["--only-binary=:all:", "--implementation", "cp"]
    command += ["--python-version", python_version, *platforms, "-d", str(folder)]
    subprocess.run([*command, *(f"{n}=={v}" for n, v in pins.items())], check=True)
    kept = []
    for wheel in sorted(folder.glob("*.whl")):
        name, version, _, _ = parse_wheel_filename(wheel.name)
        if name in pins and Version(pins[name]) == version:
            kept.append(wheel)
        else:
            wheel.unlink()
    if absent := set(pins) - {parse_wheel_filename(w.name)[0] for w in kept}:
        raise WheelError(f"no wheel downloaded for {sorted(absent)}")
    return kept
