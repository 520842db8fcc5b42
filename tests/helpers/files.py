"""Damage done to a model version on disk, as a bad copy or a crashed export would leave it."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from service import registry


def append_bytes(folder: Path) -> None:
    """Append to `model.onnx`, so that its checksum no longer matches metadata.json."""
    with (folder / "model.onnx").open("ab") as onnx_file:
        onnx_file.write(b"tampered")


def unreadable(repository: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing sentiment-lstm fails, as a version folder the server may not enter makes it.

    Simulated: the tests run as root, whom no folder mode keeps out.
    """
    listing = registry.versions

    def versions(root: Path, name: str) -> list[str]:
        if name != "sentiment-lstm":
            return listing(root, name)
        raise PermissionError(errno.EACCES, "Permission denied", str(root / name / "2"))

    monkeypatch.setattr(registry, "versions", versions)
