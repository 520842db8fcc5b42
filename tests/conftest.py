"""Fixtures shared by every test folder: the real data and a smoke-trained model repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real MNIST/IMDB files; tests never download, so they skip where the files are absent."""
    folder = Path(os.environ.get("TRAINING_DATA_DIR", SHARED_DATA))
    if not (folder / "mnist.npz").exists() or not (folder / "imdb.jsonl.gz").exists():
        pytest.skip(f"real data not found in {folder}; set TRAINING_DATA_DIR")
    return folder


@pytest.fixture(scope="session")
def smoke_artifacts(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every model trained with the smoke profile (a few hundred samples, one epoch)."""
    from training.cli import main

    out = tmp_path_factory.mktemp("artifacts")
    assert main(["all", "--profile", "smoke", "--data-dir", str(data_dir), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def smoke_repository(
    smoke_artifacts: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The smoke models exported into a model repository, parity-checked."""
    from export.cli import main

    repository = tmp_path_factory.mktemp("models")
    args = ["all", "--artifacts", str(smoke_artifacts), "--repository", str(repository)]
    assert main([*args, "--data-dir", str(data_dir)]) == 0
    return repository
