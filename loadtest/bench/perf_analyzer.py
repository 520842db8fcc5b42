"""Triton's perf_analyzer against the service's `/v2` routes: figures comparable with any Triton
or KServe deployment measured by the same tool.

The binary ships in the `tritonclient==2.41.0` wheel (the dev extra). It links libb64 (Debian's
libb64-0d) and libcudart.so.12 (the nvidia-cuda-runtime-cu12 wheel); over HTTP it uses no GPU.
Inputs are real: MNIST test digits and IMDB test reviews, tokenised with the model's own
vocabulary, since random INT64 tokens would be refused as out of the vocabulary.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from contract.metadata import TextPreprocessing
from contract.repository import read_metadata, version_dir, versions
from contract.tensors import RawValues, model_inputs
from contract.text import Vocabulary
from loadtest.payloads import DigitSample, ReviewSample

MODELS = ("digits-cnn", "sentiment-lstm")
LEVELS = (1, 8, 32)
# Throughput must settle within this share over three windows; a shared 2-core box rarely gets
# to perf_analyzer's default 10 %, and the bench reports its load average beside the figures.
STABILITY_PERCENT = 100
MAX_TRIALS = 10


@dataclass(frozen=True)
class Tool:
    """The perf_analyzer binary and the environment it loads its libraries from."""

    binary: Path
    env: dict[str, str]


@dataclass(frozen=True)
class PerfAnalyzerRow:
    """One perf_analyzer measurement of one model at one concurrency, batch 1."""

    model: str
    concurrency: int
    throughput: float  # inferences/s
    p50_ms: float
    p99_ms: float


def locate() -> Tool | str:
    """The tool, or a sentence saying what is missing."""
    binary = Path(sysconfig.get_paths()["scripts"]) / "perf_analyzer"
    if not binary.exists():
        return f"no perf_analyzer at {binary}: install the dev extra (tritonclient==2.41.0)"
    spec = importlib.util.find_spec("nvidia.cuda_runtime")
    if spec is None or not spec.submodule_search_locations:
        return "no libcudart.so.12: install the dev extra (nvidia-cuda-runtime-cu12)"
    cudart = Path(next(iter(spec.submodule_search_locations))) / "lib"
    library_path = ":".join(filter(None, [str(cudart), os.environ.get("LD_LIBRARY_PATH")]))
    env = os.environ | {"LD_LIBRARY_PATH": library_path}
    linked = subprocess.run(["ldd", str(binary)], env=env, capture_output=True, text=True)
    if missing := [line.split()[0] for line in linked.stdout.splitlines() if "not found" in line]:
        return f"perf_analyzer cannot load {missing}: apt-get install libb64-0d (as root)"
    return Tool(binary, env)


def write_input_data(
    repository: Path,
    model: str,
    digits: Sequence[DigitSample],
    reviews: Sequence[ReviewSample],
    path: Path,
) -> Path:
    """perf_analyzer's `--input-data` file: one real input per entry, the model's own tensors."""
    folder = version_dir(repository, model, versions(repository, model)[-1])
    metadata = read_metadata(folder)
    raw: RawValues = np.stack([digit.image for digit in digits])
    vocabulary = None
    if isinstance(metadata.preprocessing, TextPreprocessing):
        raw = [review.text for review in reviews]
        vocabulary = Vocabulary.load(folder / metadata.preprocessing.vocabulary_file)
    feeds = model_inputs(metadata, raw, vocabulary)
    count = len(next(iter(feeds.values())))
    entries = [
        {
            name: {"content": rows[i].ravel().tolist(), "shape": list(rows.shape[1:])}
            for name, rows in feeds.items()
        }
        for i in range(count)
    ]
    path.write_bytes(orjson.dumps({"data": entries}))
    return path


def measure(
    tool: Tool, url: str, model: str, concurrency: int, input_data: Path, seconds: float
) -> PerfAnalyzerRow:
    """One stable measurement at `concurrency` (windows of `seconds`); raises on a failed run."""
    report = input_data.with_name(f"{model}-c{concurrency}.csv")
    command = [
        *(str(tool.binary), "-m", model, "-u", url.removeprefix("http://"), "-i", "http"),
        *("--concurrency-range", f"{concurrency}:{concurrency}"),
        *("--input-data", str(input_data), "-f", str(report)),
        *("--measurement-interval", str(round(seconds * 1000))),
        *("--stability-percentage", str(STABILITY_PERCENT), "--max-trials", str(MAX_TRIALS)),
    ]
    done = subprocess.run(command, env=tool.env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"perf_analyzer failed on {model}:\n{done.stdout}{done.stderr}")
    (row,) = csv.DictReader(report.open())
    return PerfAnalyzerRow(
        model,
        concurrency,
        throughput=float(row["Inferences/Second"]),
        p50_ms=float(row["p50 latency"]) / 1000,  # perf_analyzer writes µs
        p99_ms=float(row["p99 latency"]) / 1000,
    )


def measure_models(
    tool: Tool,
    url: str,
    repository: Path,
    samples: tuple[Sequence[DigitSample], Sequence[ReviewSample]],
    work: Path,
    seconds: float,
) -> list[PerfAnalyzerRow]:
    """Every model of `MODELS` at every concurrency of `LEVELS`, printing each row."""
    rows = []
    for model in MODELS:
        inputs = write_input_data(repository, model, *samples, work / f"{model}.json")
        for level in LEVELS:
            rows.append(row := measure(tool, url, model, level, inputs, seconds))
            print(
                f"perf_analyzer {model:<14} c={level:<4} {row.throughput:9.1f} infer/s  "
                f"p50 {row.p50_ms:8.2f} ms  p99 {row.p99_ms:8.2f} ms",
                flush=True,
            )
    return rows
