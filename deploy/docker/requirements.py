"""Print the requirements pyproject.toml pins, for one onnxruntime build, one per line.

    python deploy/docker/requirements.py cpu|gpu [--extra train] [--pyproject PATH]

pyproject.toml chooses the onnxruntime package by platform marker (onnxruntime-gpu on Linux
x86_64, onnxruntime elsewhere), so `pip install .` in a Linux image always gets the GPU build. An
image chooses by target instead: this keeps only the chosen package, drops the markers and leaves
every pin exactly as pyproject.toml declares it. Standard library only, because it runs in a bare
Python image before anything is installed.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ONNXRUNTIME = {"cpu": "onnxruntime", "gpu": "onnxruntime-gpu"}
DEFAULT_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class RequirementsError(Exception):
    """pyproject.toml does not hold what an image needs."""


def project_name(requirement: str) -> str:
    """The PEP 503 normalised project name of a requirement string."""
    match = _NAME.match(requirement)
    if match is None:
        raise RequirementsError(f"cannot read a project name from requirement {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def declared(pyproject: Path, extras: list[str]) -> list[str]:
    """The [project] dependencies followed by those of each extra, as written."""
    project = tomllib.loads(pyproject.read_text())["project"]
    optional = project.get("optional-dependencies", {})
    unknown = [extra for extra in extras if extra not in optional]
    if unknown:
        raise RequirementsError(f"unknown extra {unknown}; pyproject.toml has {sorted(optional)}")
    return [*project["dependencies"], *(req for extra in extras for req in optional[extra])]


def image_requirements(pyproject: Path, flavour: str, extras: list[str]) -> list[str]:
    """The declared requirements without markers, with only the `flavour` onnxruntime package."""
    unwanted = {name for key, name in ONNXRUNTIME.items() if key != flavour}
    kept = [req for req in declared(pyproject, extras) if project_name(req) not in unwanted]
    if ONNXRUNTIME[flavour] not in {project_name(req) for req in kept}:
        raise RequirementsError(f"pyproject.toml declares no {ONNXRUNTIME[flavour]} requirement")
    return [req.split(";", 1)[0].strip() for req in kept]


def main(argv: list[str] | None = None) -> int:
    """Print the requirements; exit 2 with a message when pyproject.toml cannot provide them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("flavour", choices=sorted(ONNXRUNTIME), help="onnxruntime build to keep")
    parser.add_argument("--extra", action="append", default=[], help="add an optional extra")
    parser.add_argument("--pyproject", type=Path, default=DEFAULT_PYPROJECT)
    args = parser.parse_args(argv)
    try:
        print("\n".join(image_requirements(args.pyproject, args.flavour, args.extra)))
    except RequirementsError as error:
        print(f"requirements.py: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
