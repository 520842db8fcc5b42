"""The model repository's layout: `<root>/<name>/<version>/` folders, Triton-style.

Each version folder holds `model.onnx` beside `metadata.json` (`contract.metadata`) and any
preprocessing assets (`vocab.txt`). Export writes it; the service, load generator and tests read it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from contract.metadata import ONNX_FILE, ModelMetadata

__all__ = ["METADATA_FILE", "ONNX_FILE"]
METADATA_FILE = "metadata.json"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def version_dir(root: Path, name: str, version: str) -> Path:
    """Folder of one model version."""
    return root / name / version


def versions(root: Path, name: str) -> list[str]:
    """Versions of `name` present in the repository, oldest first (numeric order)."""
    folder = root / name
    if not folder.is_dir():
        return []
    found = [
        p.name for p in folder.iterdir() if _is_version(p.name) and (p / METADATA_FILE).exists()
    ]
    return sorted(found, key=int)


def _is_version(name: str) -> bool:
    # ASCII digits only: str.isdigit() also accepts "²", which int() then refuses.
    return name.isascii() and name.isdecimal()


def model_names(root: Path) -> list[str]:
    """Names of every model with at least one version, sorted."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _holds_versions(root, p.name))


def _holds_versions(root: Path, name: str) -> bool:
    try:
        return bool(versions(root, name))
    except OSError:  # unreadable: still listed, so that loading it says why it cannot serve
        return True


def read_metadata(folder: Path) -> ModelMetadata:
    """Parse and validate `metadata.json` of one version folder."""
    return ModelMetadata.model_validate_json((folder / METADATA_FILE).read_bytes())


def write_metadata(folder: Path, metadata: ModelMetadata) -> None:
    """Write `metadata.json`, pretty-printed for review in git."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / METADATA_FILE).write_text(metadata.model_dump_json(indent=2) + "\n")
