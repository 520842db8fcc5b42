"""The bundle survives the trip in parts: split here, each part checked there, joined byte-exact."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from loadtest.gpu import bundle

PART_BYTES = 16 * 1024


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Two incompressible 'wheels' and an inputs file, about 3.5 parts in all."""
    made = {}
    for name, size in (("wheels/big.whl", 40_000), ("wheels/small.whl", 5_000), ("in.npz", 300)):
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        made[name] = path
    return made


def test_parts_rejoin_into_the_same_files(files: dict[str, Path], tmp_path: Path) -> None:
    manifest = bundle.pack(files, tmp_path / "out", PART_BYTES)
    assert len(manifest.chunks) == 4
    assert all(chunk.size <= PART_BYTES for chunk in manifest.chunks)
    stash = tmp_path / "stash"
    for index in range(1, 5):
        left = bundle.receive(bundle.part_folder(tmp_path / "out", index), stash)
        assert len(left) == 4 - index
    bundle.join(stash, tmp_path / "joined")
    for name, path in files.items():
        assert (tmp_path / "joined" / name).read_bytes() == path.read_bytes(), name


def test_packing_the_same_files_twice_gives_the_same_bundle(
    files: dict[str, Path], tmp_path: Path
) -> None:
    first = bundle.pack(files, tmp_path / "a", PART_BYTES)
    assert bundle.pack(files, tmp_path / "b", PART_BYTES).sha256 == first.sha256


def test_a_damaged_part_is_refused(files: dict[str, Path], tmp_path: Path) -> None:
    bundle.pack(files, tmp_path / "out", PART_BYTES)
    chunk = bundle.part_folder(tmp_path / "out", 2) / "bundle.tar.002"
    data = bytearray(chunk.read_bytes())
    data[100] ^= 0xFF
    chunk.write_bytes(bytes(data))
    with pytest.raises(bundle.BundleError, match="damaged"):
        bundle.receive(chunk.parent, tmp_path / "stash")


def test_joining_names_the_parts_still_missing(files: dict[str, Path], tmp_path: Path) -> None:
    bundle.pack(files, tmp_path / "out", PART_BYTES)
    bundle.receive(bundle.part_folder(tmp_path / "out", 1), tmp_path / "stash")
    with pytest.raises(bundle.BundleError, match=r"bundle\.tar\.002, bundle\.tar\.003"):
        bundle.join(tmp_path / "stash", tmp_path / "joined")


def test_a_new_bundle_replaces_an_older_one_in_the_stash(
    files: dict[str, Path], tmp_path: Path
) -> None:
    bundle.pack(files, tmp_path / "old", PART_BYTES)
    bundle.receive(bundle.part_folder(tmp_path / "old", 1), tmp_path / "stash")
    files["wheels/small.whl"].write_bytes(b"another version")
    fresh = bundle.pack(files, tmp_path / "new", PART_BYTES)
    left = bundle.receive(bundle.part_folder(tmp_path / "new", 2), tmp_path / "stash")
    assert len(left) == len(fresh.chunks) - 1, "the old bundle's chunk 1 must not count"
