"""Triton's perf_analyzer runs against the service unmodified (the binary ships in tritonclient).

It needs libb64 (Debian's libb64-0d, which `make test` installs as root) and libcudart.so.12
from the nvidia-cuda-runtime-cu12 wheel on LD_LIBRARY_PATH; over HTTP it uses no GPU. The server
runs two workers, as a CPU deployment does: perf_analyzer subtracts two readings of the
statistics extension, which must describe the whole server, not whichever worker answered.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loadtest.bench.perf_analyzer import Tool, locate, measure, write_input_data
from loadtest.payloads import load_digits, load_reviews
from tests.helpers.apps import server_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tool() -> Tool:
    found = locate()
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture(scope="module")
def server(tiny_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("perf-server") / "server.log"
    with server_process(tiny_repository, log_path, SERVING_WORKERS="2") as (_, base_url):
        yield base_url


@pytest.mark.parametrize(("model", "concurrency"), [("digits-cnn", 8), ("sentiment-lstm", 2)])
def test_perf_analyzer_measures_real_inputs(
    tool: Tool,
    server: str,
    tiny_repository: Path,
    data_dir: Path,
    tmp_path: Path,
    model: str,
    concurrency: int,
) -> None:
    digits, reviews = load_digits(data_dir, 4, with_png=False), load_reviews(data_dir, 4)
    inputs = write_input_data(tiny_repository, model, digits, reviews, tmp_path / "inputs.json")
    row = measure(tool, server, model, concurrency, inputs, seconds=1.0)
    print(f"perf_analyzer {model} c={concurrency}: {row.throughput:.0f} infer/s, p99 {row.p99_ms}")
    assert row.throughput > 0
    assert 0 < row.p50_ms <= row.p99_ms


def test_statistics_sum_every_worker(server: str) -> None:
    def served() -> int:
        stats = httpx.get(f"{server}/v2/models/digits-mlp/stats").json()
        return int(stats["model_stats"][0]["inference_count"])

    (tensor,) = httpx.get(f"{server}/v2/models/digits-mlp").json()["inputs"]
    shape = [1, *tensor["shape"][1:]]
    tensor |= {"shape": shape, "data": [0.0] * math.prod(shape)}
    before = served()
    for _ in range(12):  # a new connection each: the kernel spreads them over both workers
        answer = httpx.post(f"{server}/v2/models/digits-mlp/infer", json={"inputs": [tensor]})
        assert answer.status_code == 200, answer.text
    assert served() - before == 12
