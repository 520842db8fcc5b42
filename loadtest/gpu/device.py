"""The machine under test: GPU, driver and CUDA from nvidia-smi, onnxruntime and its providers."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from importlib import metadata

import onnxruntime as ort

from loadtest.gpu.schema import Device

QUERY = "name,driver_version,memory.total"
# The CUDA 13 wheels dropped the -cu13 suffix from some names; older ones carry it.
CUDA_RUNTIME_DISTS = ("nvidia-cuda-runtime", "nvidia-cuda-runtime-cu13", "nvidia-cuda-runtime-cu12")
CUDNN_DISTS = ("nvidia-cudnn-cu13", "nvidia-cudnn-cu12")


def nvidia_smi(*args: str) -> str | None:
    """nvidia-smi's output, or None where there is no driver (a CPU machine)."""
    if shutil.which("nvidia-smi") is None:
        return None
    done = subprocess.run(["nvidia-smi", *args], capture_output=True, text=True, check=False)
    return done.stdout if done.returncode == 0 else None


def describe_device() -> Device:
    """What this machine is; prints nvidia-smi and the providers as the check's first step."""
    summary = nvidia_smi()
    print(summary or "nvidia-smi: not found or failed (no NVIDIA driver here)", flush=True)
    print(f"onnxruntime {ort.__version__} from {os.path.dirname(ort.__file__)}", flush=True)
    print(f"available providers: {ort.get_available_providers()}", flush=True)
    gpu, driver, memory = _query()
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", summary or "")
    return Device(
        gpu=gpu,
        gpu_memory_mib=memory,
        driver=driver,
        cuda=cuda.group(1) if cuda else None,
        cuda_runtime=_first_version(CUDA_RUNTIME_DISTS),
        cudnn=_first_version(CUDNN_DISTS),
        onnxruntime=ort.__version__,
        available_providers=list(ort.get_available_providers()),
        library_dirs=[p for p in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p],
        cpu=_cpu_name(),
        cpu_count=os.cpu_count() or 1,
        python=platform.python_version(),
    )


def _query() -> tuple[str | None, str | None, int | None]:
    answer = nvidia_smi(f"--query-gpu={QUERY}", "--format=csv,noheader,nounits")
    if not answer:
        return None, None, None
    name, driver, memory = (field.strip() for field in answer.splitlines()[0].split(","))
    return name, driver, int(float(memory))


def _first_version(names: tuple[str, ...]) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read(), re.MULTILINE)
    except OSError:
        found = None
    return found.group(1).strip() if found else platform.processor() or platform.machine()
