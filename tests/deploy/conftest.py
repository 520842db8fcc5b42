"""Fixtures for the deployment tests: the parsed Dockerfile and the pins pyproject.toml declares."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers.dockerfile import Dockerfile

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def dockerfile() -> Dockerfile:
    """The repository's Dockerfile, parsed."""
    return Dockerfile(ROOT / "Dockerfile")


@pytest.fixture(scope="session")
def project() -> dict[str, Any]:
    """The [project] table of pyproject.toml."""
    table: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return table


@pytest.fixture(scope="session")
def serving_pins(project: dict[str, Any]) -> dict[str, Requirement]:
    """The serving install (`pip install .`) by normalised name, markers included."""
    return by_name(project["dependencies"])


@pytest.fixture(scope="session")
def all_pins(project: dict[str, Any]) -> dict[str, Requirement]:
    """The serving install and every extra, by normalised name."""
    extras = project.get("optional-dependencies", {}).values()
    return by_name([*project["dependencies"], *(line for extra in extras for line in extra)])


def by_name(lines: list[str]) -> dict[str, Requirement]:
    """Requirement strings keyed by their PEP 503 name."""
    return {canonicalize_name(Requirement(line).name): Requirement(line) for line in lines}
