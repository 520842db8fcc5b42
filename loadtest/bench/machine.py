"""Facts about the machine a benchmark ran on, for its page (numbers mean little without them)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = ("onnxruntime", "onnxruntime-gpu", "fastapi", "uvicorn", "tensorflow")


def facts(driver: str) -> dict[str, object]:
    """CPU, memory, OS and the versions of what was measured."""
    return {
        "nproc": _command(["nproc"]) or str(os.cpu_count()),
        "cpu": _lscpu("Model name"),
        "threads_per_core": _lscpu("Thread(s) per core"),
        "hypervisor": _lscpu("Hypervisor vendor") or "none",
        "memory_gib": round(_meminfo_kib("MemTotal") / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "driver": driver,
        "driver_version": _driver_version(driver),
        "gpu": _gpus(),
    }


def _lscpu(field: str) -> str:
    for line in _command(["lscpu"]).splitlines():
        name, _, value = line.partition(":")
        if name.strip() == field:
            return value.strip()
    return ""


def _meminfo_kib(field: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _command(args: list[str]) -> str:
    if shutil.which(args[0]) is None:
        return ""
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    # wrk prints its version in its usage text, on stderr, and exits 1.
    return (done.stdout or done.stderr).strip()


def _gpus() -> str:
    query = ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"]
    return ", ".join(_command(query).splitlines()) or "none"


def _driver_version(driver: str) -> str:
    if driver == "wrk":
        return _command(["wrk", "--version"]).split(" [")[0]  # "wrk debian/4.1.0-3+b2 [epoll] ..."
    return _version("locust")


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "-"
