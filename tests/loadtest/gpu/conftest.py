"""Fixtures for the GPU check: a tiny model repository and one dry run of the whole check."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.tiny_models import build_repository
from tests.loadtest.gpu.dry_run import DryRun, run_check


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All eight model names as tiny ONNX graphs (max_batch_size 16)."""
    return build_repository(tmp_path_factory.mktemp("gpu-tiny-models"))


@pytest.fixture(scope="session")
def dry_run(tiny_models: Path, tmp_path_factory: pytest.TempPathFactory) -> DryRun:
    """The whole measuring path on CPU, once per session (a service start costs seconds)."""
    return run_check(tiny_models, tmp_path_factory.mktemp("gpu-dry-run"))
