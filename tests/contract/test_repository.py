"""The repository layout: which folders are model versions, in which order."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from contract import repository as repository_module
from contract.metadata import ModelMetadata
from contract.repository import (
    model_names,
    read_metadata,
    sha256_file,
    version_dir,
    versions,
    write_metadata,
)
from tests.helpers.tiny_models import build_repository


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    return build_repository(tmp_path, ("digits-cnn", "sentiment-lstm"))


def add_version(root: Path, name: str, version: str) -> None:
    shutil.copytree(version_dir(root, name, "1"), version_dir(root, name, version))


def test_versions_sort_numerically(repository: Path) -> None:
    for version in ("10", "2"):
        add_version(repository, "digits-cnn", version)
    assert versions(repository, "digits-cnn") == ["1", "2", "10"]


@pytest.mark.parametrize("folder", ["²", "v2", "2.0", "٣", "draft"])
def test_folders_that_are_not_ascii_version_numbers_are_ignored(
    repository: Path, folder: str
) -> None:
    add_version(repository, "digits-cnn", folder)
    assert versions(repository, "digits-cnn") == ["1"]


def test_a_version_without_metadata_is_not_a_version(repository: Path) -> None:
    version_dir(repository, "digits-cnn", "2").mkdir()
    assert versions(repository, "digits-cnn") == ["1"]


def test_model_names_are_the_folders_with_a_version(repository: Path) -> None:
    (repository / "empty-model").mkdir()
    assert model_names(repository) == ["digits-cnn", "sentiment-lstm"]
    assert model_names(repository / "missing") == []


def test_metadata_round_trips_and_names_its_onnx_file(repository: Path, tmp_path: Path) -> None:
    metadata = read_metadata(version_dir(repository, "digits-cnn", "1"))
    write_metadata(tmp_path / "copy", metadata)
    assert read_metadata(tmp_path / "copy") == metadata
    onnx_path = version_dir(repository, "digits-cnn", "1") / metadata.onnx_file
    assert sha256_file(onnx_path) == metadata.onnx_sha256


def test_metadata_refuses_unknown_fields(repository: Path) -> None:
    folder = version_dir(repository, "digits-cnn", "1")
    raw = (folder / "metadata.json").read_text().replace('"opset"', '"opset_typo": 1, "opset"', 1)
    with pytest.raises(ValueError, match="opset_typo"):
        ModelMetadata.model_validate_json(raw)


def test_a_model_folder_that_cannot_be_listed_is_still_a_model(
    repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing = repository_module.versions

    def versions(root: Path, name: str) -> list[str]:
        if name == "sentiment-lstm":
            raise PermissionError(13, "Permission denied", str(root / name))
        return listing(root, name)

    monkeypatch.setattr(repository_module, "versions", versions)
    assert model_names(repository) == ["digits-cnn", "sentiment-lstm"]
