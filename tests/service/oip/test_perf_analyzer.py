"""Triton's perf_analyzer runs against the service unmodified (the binary ships in tritonclient).

It needs libb64 (Debian's libb64-0d, which `make test` installs as root) and libcudart.so.12
from the nvidia-cuda-runtime-cu12 wheel on LD_LIBRARY_PATH; over HTTP it uses no GPU.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.apps import server_process

pytestmark = pytest.mark.e2e
TIMEOUT_S = 240


def perf_analyzer() -> tuple[Path, dict[str, str]]:
    """The binary and its environment, or skip saying what is missing."""
    binary = Path(sysconfig.get_paths()["scripts"]) / "perf_analyzer"
    if not binary.exists():
        pytest.skip(f"no perf_analyzer at {binary}: install the dev extra (tritonclient==2.41.0)")
    spec = importlib.util.find_spec("nvidia.cuda_runtime")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("no libcudart.so.12: install the dev extra (nvidia-cuda-runtime-cu12)")
    cudart = Path(next(iter(spec.submodule_search_locations))) / "lib"
    library_path = ":".join(filter(None, [str(cudart), os.environ.get("LD_LIBRARY_PATH")]))
    environment = os.environ | {"LD_LIBRARY_PATH": library_path}
    linked = subprocess.run(["ldd", str(binary)], env=environment, capture_output=True, text=True)
    missing = [line.split()[0] for line in linked.stdout.splitlines() if "not found" in line]
    if missing:
        pytest.skip(f"perf_analyzer cannot load {missing}: apt-get install libb64-0d (as root)")
    return binary, environment


@pytest.fixture(scope="module")
def server(tiny_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("perf-server") / "server.log"
    with server_process(tiny_repository, log_path) as (_, base_url):
        yield base_url.removeprefix("http://")


def test_perf_analyzer_measures_digits_cnn_at_concurrency_8(server: str, tmp_path: Path) -> None:
    binary, environment = perf_analyzer()
    report = tmp_path / "digits-cnn.csv"
    command = [
        str(binary),
        *("-m", "digits-cnn", "-u", server, "-i", "http", "--concurrency-range", "8"),
        # Stabilise on throughput, loosely: on a shared CI machine p99 rarely settles within 10 %
        # over ten windows, and the test is that the tool runs clean, not a benchmark.
        *("--measurement-interval", "2000", "--stability-percentage", "50", "-f", str(report)),
    ]
    done = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "error" not in output.lower(), output
    (row,) = list(csv.DictReader(report.open()))
    throughput = float(row["Inferences/Second"])
    p99_ms = float(row["p99 latency"]) / 1000
    print(f"perf_analyzer digits-cnn c=8: {throughput:.0f} infer/s, p99 {p99_ms:.2f} ms")
    assert throughput > 0
