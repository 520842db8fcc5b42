"""On the device: install the joined bundle beside the image's packages, and find CUDA for it.

Nothing is installed into the image's Python: the wheels go to their own folder, first on
PYTHONPATH, so our onnxruntime-gpu shadows the image's CPU-only onnxruntime 1.30. onnxruntime-gpu
1.31 is built for CUDA 13, whose libraries the image already holds as pip packages
(site-packages/nvidia/*/lib); the dynamic loader reads LD_LIBRARY_PATH only when a process starts,
so the measuring process (and the service it starts) is a new process with both variables set.
`onnxruntime.preload_dlls()` would do the same for one process, but not for the service it spawns.

Standard library only: this runs on the device's bare python3.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from loadtest.gpu import bundle

ROOT = Path(__file__).resolve().parents[2]
STAMP = ".bundle-sha256"
PIP_INSTALL = (
    "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile", "--no-cache-dir",
    "--upgrade", "--disable-pip-version-check",
)  # fmt: skip


def installed_bundle(site: Path) -> str | None:
    """The sha256 of the bundle installed in `site`, if any."""
    stamp = site / STAMP
    return stamp.read_text().strip() if stamp.is_file() else None


def join_and_install(stash: Path, site: Path) -> Path:
    """Join the stashed parts, install their wheels into `site`; the unpacked bundle folder.

    A rerun on the same warm machine with the same bundle skips both (about half a minute).
    """
    manifest = bundle.Manifest.read(stash)
    unpacked = stash / "unpacked"
    if installed_bundle(site) == manifest.sha256 and unpacked.is_dir():
        print(f"bundle {manifest.sha256[:12]} already installed in {site}", flush=True)
        return unpacked
    shutil.rmtree(unpacked, ignore_errors=True)
    bundle.join(stash, unpacked)
    wheels = sorted(str(path) for path in (unpacked / "wheels").glob("*.whl"))
    print(f"installing {len(wheels)} wheels into {site}", flush=True)
    shutil.rmtree(site, ignore_errors=True)
    subprocess.run([sys.executable, *PIP_INSTALL, "--target", str(site), *wheels], check=True)
    (site / STAMP).write_text(manifest.sha256 + "\n")
    return unpacked


def cuda_library_dirs(search: Iterable[str]) -> list[str]:
    """Folders of the CUDA pip packages' shared libraries (nvidia/cu13/lib, nvidia/cudnn/lib, …)."""
    found: list[str] = []
    for entry in search:
        root = Path(entry or ".") / "nvidia"
        if root.is_dir():
            found += [str(lib) for lib in sorted(root.glob("*/lib")) if any(lib.glob("*.so*"))]
    return list(dict.fromkeys(found))


def measure_environment(site: Path | None, base: Mapping[str, str]) -> dict[str, str]:
    """`base` with the bundle first on PYTHONPATH and the CUDA libraries on LD_LIBRARY_PATH."""
    python_path = [str(site)] if site else []
    libraries = cuda_library_dirs(sys.path)
    return dict(base) | {
        "PYTHONPATH": _joined(*python_path, str(ROOT), base.get("PYTHONPATH")),
        "LD_LIBRARY_PATH": _joined(*libraries, base.get("LD_LIBRARY_PATH")),
        "PYTHONUNBUFFERED": "1",
    }


def exec_measure(arguments: list[str], env: dict[str, str]) -> None:
    """Become `python -m loadtest.gpu measure ...` (exec: signals reach the measuring directly)."""
    command = [sys.executable, "-m", "loadtest.gpu", "measure", *arguments]
    print("$ " + " ".join(command), flush=True)
    os.execve(sys.executable, command, env)


def _joined(*parts: str | None) -> str:
    return os.pathsep.join(part for part in parts if part)
