"""Fixtures for the deployment tests: the parsed Dockerfile, the pins, and the built images."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy import image_report
from tests.deploy.containers import Engine, find_engine
from tests.helpers.dockerfile import Dockerfile

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "digits-sentiment-serving:test"


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


@pytest.fixture(scope="session")
def engine() -> Engine:
    """Docker or podman, ready to build the Dockerfile; skips, saying why, where neither runs."""
    found = find_engine()
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture(scope="session")
def image_measurements(engine: Engine) -> Iterator[image_report.ImageMeasurements]:
    """Figures the image tests record; `make images` writes them into docs/deployment.md.

    Only on request (RECORD_IMAGE_MEASUREMENTS=1): a plain `make test` leaves the tree clean.
    """
    measurements = image_report.ImageMeasurements(engine=engine.name, bases=engine.bases)
    yield measurements
    if measurements.complete() and os.environ.get("RECORD_IMAGE_MEASUREMENTS") == "1":
        image_report.write(measurements)


@pytest.fixture(scope="session")
def cpu_image(engine: Engine, image_measurements: image_report.ImageMeasurements) -> str:
    """The `cpu` target built from the working tree, once per session."""
    return built(engine, "cpu", image_measurements)


@pytest.fixture(scope="session")
def train_image(engine: Engine, image_measurements: image_report.ImageMeasurements) -> str:
    """The `train` target built from the working tree, once per session."""
    return built(engine, "train", image_measurements)


def built(engine: Engine, target: str, measurements: image_report.ImageMeasurements) -> str:
    """Build `target`, record its build time and size, and return its tag."""
    tag = f"{IMAGE}-{target}"
    before = engine.image_id(tag)
    measurements.build_s[target] = engine.build(target, tag)
    measurements.changed[target] = engine.image_id(tag) != before
    measurements.size_bytes[target] = engine.image_bytes(tag)
    return tag
