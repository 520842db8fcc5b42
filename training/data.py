"""MNIST and the IMDB reviews (raw text), from a local data directory or the public originals.

A data directory holding `mnist.npz` / `imdb.jsonl.gz` (the layout of this project's shared data)
is used as is after its checksum is verified. Without one, the public originals are downloaded
once into Keras' cache with a progress bar, and verified too.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_DIR_ENV = "TRAINING_DATA_DIR"

MNIST_FILE = "mnist.npz"
IMDB_FILE = "imdb.jsonl.gz"
# The shared copy is re-serialised (same arrays, other zip metadata), so both hashes are genuine.
MNIST_SHA256 = {
    "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64",  # shared/data
    "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",  # Keras' download
}
IMDB_SHA256 = "d0eb05626c8833fae61c8df3abb572d3258aa28591d452cfda6b0853af28f276"
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
ACLIMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
ACLIMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"


class DataError(Exception):
    """A data file is missing, corrupt or unreadable; the message says what to do."""


@dataclass(frozen=True)
class Mnist:
    """uint8 images (N, 28, 28), light ink on dark, and uint8 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    sha256: str


@dataclass(frozen=True)
class Imdb:
    """Raw review texts and labels (1 = positive)."""

    train_texts: list[str]
    train_labels: np.ndarray
    test_texts: list[str]
    test_labels: np.ndarray
    sha256: str


def resolve_data_dir(flag: str | None) -> Path | None:
    """The `--data-dir` flag, else $TRAINING_DATA_DIR, else None (download)."""
    chosen = flag or os.environ.get(DATA_DIR_ENV)
    return Path(chosen) if chosen else None


def _verified(path: Path, expected: set[str]) -> str:
    if not path.is_file():
        raise DataError(
            f"{path} is missing: pass --data-dir (or ${DATA_DIR_ENV}) pointing at a folder "
            f"that holds it, or leave both unset to download the public original"
        )
    with path.open("rb") as handle:
        actual = hashlib.file_digest(handle, "sha256").hexdigest()
    if actual not in expected:
        raise DataError(
            f"{path} is corrupt (sha256 {actual[:12]}…, expected {sorted(expected)[0][:12]}…): "
            "delete it and copy or download it again"
        )
    return actual


def _download(url: str, sha256: str) -> Path:
    # Imported here: Keras is heavy, and a local data directory never needs it.
    import keras

    return Path(keras.utils.get_file(origin=url, file_hash=sha256, hash_algorithm="sha256"))


def load_mnist(data_dir: Path | None) -> Mnist:
    """Load MNIST from `data_dir/mnist.npz`, or download Keras' copy when `data_dir` is None."""
    path = data_dir / MNIST_FILE if data_dir else _download(MNIST_URL, min(MNIST_SHA256))
    checksum = _verified(path, MNIST_SHA256)
    with np.load(path) as arrays:
        return Mnist(
            arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"], checksum
        )


def load_imdb(data_dir: Path | None) -> Imdb:
    """Load the labelled IMDB reviews from `data_dir/imdb.jsonl.gz`, or the Stanford archive."""
    if data_dir is None:
        archive = _download(ACLIMDB_URL, ACLIMDB_SHA256)
        return _read_aclimdb(archive, _verified(archive, {ACLIMDB_SHA256}))
    path = data_dir / IMDB_FILE
    checksum = _verified(path, {IMDB_SHA256})
    splits: dict[str, tuple[list[str], list[int]]] = {"train": ([], []), "test": ([], [])}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            texts, labels = splits[row["split"]]
            texts.append(row["text"])
            labels.append(row["label"])
    return _imdb(splits, checksum)


def _read_aclimdb(archive: Path, checksum: str) -> Imdb:
    splits: dict[str, tuple[list[str], list[int]]] = {"train": ([], []), "test": ([], [])}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")  # aclImdb/<split>/<pos|neg>/<id>_<rating>.txt
            if len(parts) == 4 and parts[2] in ("pos", "neg") and parts[1] in splits:
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                texts, labels = splits[parts[1]]
                texts.append(handle.read().decode("utf-8"))
                labels.append(int(parts[2] == "pos"))
    return _imdb(splits, checksum)


def _imdb(splits: dict[str, tuple[list[str], list[int]]], checksum: str) -> Imdb:
    (train_texts, train_labels), (test_texts, test_labels) = splits["train"], splits["test"]
    return Imdb(
        train_texts,
        np.asarray(train_labels, dtype=np.int64),
        test_texts,
        np.asarray(test_labels, dtype=np.int64),
        checksum,
    )
