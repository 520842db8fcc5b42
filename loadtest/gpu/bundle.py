"""What travels to the device: one tar of wheels and inputs, cut into parts that fit one call each.

A device call carries at most 64 MiB, the working tree included, while the onnxruntime-gpu wheel
alone is 244 MiB. So the tar is split into chunks, each in its own part folder with the manifest
of all of them; each call carries one part, `receive` checks it and stashes it in /tmp on the warm
machine, and `join` rebuilds the tar there once every chunk has arrived.

Standard library only: this runs on the device's bare python3, before anything is installed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
from dataclasses import asdict, dataclass
from pathlib import Path

MANIFEST = "manifest.json"
CHUNK_PREFIX = "bundle.tar."
PART_PREFIX = "part-"
READ_BYTES = 1 << 20


class BundleError(RuntimeError):
    """A part is missing or damaged; the message says which, and what to send again."""


@dataclass(frozen=True)
class Chunk:
    """One slice of the bundle's tar."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """Every chunk of one bundle, and the whole tar's checksum: each part carries a copy."""

    sha256: str
    size: int
    chunks: tuple[Chunk, ...]
    members: tuple[str, ...]

    def write(self, folder: Path) -> None:
        """Save as `folder/manifest.json`."""
        (folder / MANIFEST).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """The manifest saved in `folder`."""
        data = json.loads((folder / MANIFEST).read_text())
        chunks = tuple(Chunk(**chunk) for chunk in data["chunks"])
        return cls(data["sha256"], data["size"], chunks, tuple(data["members"]))


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read a MiB at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(READ_BYTES):
            digest.update(block)
    return digest.hexdigest()


def pack(files: dict[str, Path], out: Path, part_bytes: int) -> Manifest:
    """Tar `files` (archive name → file) and split it into part folders of `part_bytes` at most.

    The tar is reproducible (fixed owner and times), so packing the same wheels again gives the
    same checksum and the device skips a reinstall it has already done.
    """
    for old in out.glob(f"{PART_PREFIX}*"):
        shutil.rmtree(old)
    out.mkdir(parents=True, exist_ok=True)
    whole = out / "bundle.tar"
    with tarfile.open(whole, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in sorted(files.items()):
            tar.add(path, arcname=name, filter=_reproducible)
    chunks = _split(whole, out, part_bytes)
    manifest = Manifest(sha256_of(whole), whole.stat().st_size, chunks, tuple(sorted(files)))
    whole.unlink()
    for index in range(1, len(chunks) + 1):
        manifest.write(part_folder(out, index))
    return manifest


def part_folder(out: Path, index: int) -> Path:
    """Where part `index` (from 1) lives under the bundle folder."""
    return out / f"{PART_PREFIX}{index}"


def _reproducible(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    info.mode = 0o644
    return info


def _split(whole: Path, out: Path, part_bytes: int) -> tuple[Chunk, ...]:
    chunks: list[Chunk] = []
    with whole.open("rb") as source:
        while block := source.read(part_bytes):
            index = len(chunks) + 1
            folder = part_folder(out, index)
            folder.mkdir()
            name = f"{CHUNK_PREFIX}{index:03d}"
            (folder / name).write_bytes(block)
            chunks.append(Chunk(name, len(block), hashlib.sha256(block).hexdigest()))
    return tuple(chunks)


def receive(part: Path, stash: Path) -> list[str]:
    """Check the chunk in `part` against its manifest and copy it into `stash`; the chunks missing.

    A stash holding another bundle's chunks (an older prepare) is emptied first.
    """
    manifest = Manifest.read(part)
    if (stash / MANIFEST).is_file() and Manifest.read(stash).sha256 != manifest.sha256:
        shutil.rmtree(stash)
    stash.mkdir(parents=True, exist_ok=True)
    arrived = [chunk for chunk in manifest.chunks if (part / chunk.name).is_file()]
    if not arrived:
        raise BundleError(f"{part} holds no chunk of its manifest")
    for chunk in arrived:
        _check(part / chunk.name, chunk)
        shutil.copyfile(part / chunk.name, stash / chunk.name)
    manifest.write(stash)
    return missing(stash, manifest)


def missing(stash: Path, manifest: Manifest) -> list[str]:
    """Chunks of `manifest` not (yet) in `stash`, by name; sizes are checked, not checksums."""
    return [
        chunk.name
        for chunk in manifest.chunks
        if not (stash / chunk.name).is_file() or (stash / chunk.name).stat().st_size != chunk.size
    ]


def join(stash: Path, into: Path) -> Manifest:
    """Rebuild the tar from the stashed chunks, verify it and extract it into `into`."""
    manifest = Manifest.read(stash)
    if absent := missing(stash, manifest):
        raise BundleError(f"{stash} lacks {', '.join(absent)}: send those parts again")
    whole = stash / "bundle.tar"
    digest = hashlib.sha256()
    with whole.open("wb") as out:
        for chunk in manifest.chunks:
            block = (stash / chunk.name).read_bytes()
            digest.update(block)
            out.write(block)
    if digest.hexdigest() != manifest.sha256:
        whole.unlink()
        raise BundleError(f"the joined bundle in {stash} does not match its manifest's sha256")
    with tarfile.open(whole) as tar:
        tar.extractall(into, filter="data")
    whole.unlink()
    return manifest


def _check(path: Path, chunk: Chunk) -> None:
    actual = sha256_of(path)
    if actual != chunk.sha256:
        raise BundleError(
            f"{path} has sha256 {actual[:12]}…, the manifest says {chunk.sha256[:12]}…: "
            "the part is damaged; run `prepare` again and resend it"
        )
