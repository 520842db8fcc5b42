"""On the device: the bundle installs beside the image's packages, and CUDA is found for it."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from loadtest.gpu import bundle, install

WHEEL = "gpu_probe-1.0-py3-none-any.whl"


def make_wheel(folder: Path) -> Path:
    """A minimal pure-Python wheel (module `gpu_probe`), so pip really installs offline."""
    info = "gpu_probe-1.0.dist-info"
    files = {
        "gpu_probe.py": b"ANSWER = 42\n",
        f"{info}/METADATA": b"Metadata-Version: 2.1\nName: gpu-probe\nVersion: 1.0\n",
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,", ""]).encode()
    path = folder / WHEEL
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
    return path


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


@pytest.fixture
def stash(tmp_path: Path) -> Path:
    """A stash holding every part of a bundle with one wheel, as after the `receive` calls."""
    wheel = make_wheel(tmp_path)
    bundle.pack({f"wheels/{WHEEL}": wheel}, tmp_path / "parts", 1024)
    for part in sorted((tmp_path / "parts").glob("part-*")):
        bundle.receive(part, tmp_path / "stash")
    return tmp_path / "stash"


def test_the_wheels_install_into_their_own_folder(stash: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    unpacked = install.join_and_install(stash, site)
    assert (unpacked / "wheels" / WHEEL).is_file()
    assert (site / "gpu_probe.py").read_text() == "ANSWER = 42\n"
    assert install.installed_bundle(site) == bundle.Manifest.read(stash).sha256


def test_a_rerun_with_the_same_bundle_skips_the_install(
    stash: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install.join_and_install(stash, tmp_path / "site")

    def no_pip(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip ran again")

    monkeypatch.setattr(subprocess, "run", no_pip)
    install.join_and_install(stash, tmp_path / "site")


def test_cuda_libraries_are_found_in_both_package_layouts(tmp_path: Path) -> None:
    for folder, library in (("cu13", "libcudart.so.13"), ("cudnn", "libcudnn.so.9"), ("x", "")):
        (tmp_path / "nvidia" / folder / "lib").mkdir(parents=True)
        if library:
            (tmp_path / "nvidia" / folder / "lib" / library).touch()
    found = install.cuda_library_dirs([str(tmp_path), str(tmp_path / "elsewhere")])
    assert found == [str(tmp_path / "nvidia" / name / "lib") for name in ("cu13", "cudnn")]


def test_the_bundle_comes_first_and_the_old_paths_stay(tmp_path: Path) -> None:
    base = {"PYTHONPATH": "/old", "LD_LIBRARY_PATH": "/old/lib", "HOME": "/root"}
    env = install.measure_environment(tmp_path, base)
    assert env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path), str(install.ROOT), "/old"]
    assert env["LD_LIBRARY_PATH"].split(os.pathsep)[-1] == "/old/lib"
    assert env["HOME"] == "/root"
