"""The `train` image, built from the working tree: it trains and exports a model.

The smoke profile keeps it to seconds of training; the image build itself downloads TensorFlow the
first time (docs/deployment.md has the measured times).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.deploy.containers import Engine
from tests.deploy.image_report import ImageMeasurements

pytestmark = pytest.mark.container


def test_train_image_trains_and_exports_a_model(
    engine: Engine,
    train_image: str,
    data_dir: Path,
    tmp_path: Path,
    image_measurements: ImageMeasurements,
) -> None:
    os.chmod(tmp_path, 0o777)  # the image's user (UID 10001) writes the results
    mounts = ("-v", f"{data_dir}:/data:ro", "-v", f"{tmp_path}:/out", "--entrypoint", "python")
    started = time.monotonic()
    model, data = "digits-mlp", ("--data-dir", "/data")
    steps = {
        "training": [model, "--profile", "smoke", *data, "--out", "/out/artifacts"],
        "export": [model, "--artifacts", "/out/artifacts", "--repository", "/out/models", *data],
    }
    for module, args in steps.items():
        engine.run_to_end(train_image, mounts, ["-m", module, *args], timeout=900)
    image_measurements.smoke_train_s = time.monotonic() - started
    exported = tmp_path / "models" / "digits-mlp" / "1"
    assert (exported / "model.onnx").stat().st_size > 0
    metadata = json.loads((exported / "metadata.json").read_text())
    assert metadata["parity"], metadata.get("parity")
