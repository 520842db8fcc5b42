"""Damage done to a model version on disk, as a bad copy or a crashed export would leave it."""

from __future__ import annotations

from pathlib import Path


def append_bytes(folder: Path) -> None:
    """Append to `model.onnx`, so that its checksum no longer matches metadata.json."""
    with (folder / "model.onnx").open("ab") as onnx_file:
        onnx_file.write(b"tampered")
