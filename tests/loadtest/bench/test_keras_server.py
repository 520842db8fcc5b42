"""The Keras baseline answers in the service's shapes, so one load generator drives both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pytest
from starlette.testclient import TestClient

from loadtest.locust import checks
from loadtest.server import ROOT

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "artifacts"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    if not (ARTIFACTS / "digits-cnn" / "model.keras").is_file():
        pytest.skip(f"no trained Keras models in {ARTIFACTS}; run `make train`")
    from loadtest.bench.keras_server import create_app

    with TestClient(create_app(ARTIFACTS)) as test_client:
        yield test_client


def test_digits_come_back_right_in_the_service_shape(client: TestClient, data_dir: Path) -> None:
    with np.load(data_dir / "mnist.npz") as mnist:
        images, labels = mnist["x_test"][:10], mnist["y_test"][:10]
    predicted = []
    for image in images:
        body = orjson.dumps({"pixels": image}, option=orjson.OPT_SERIALIZE_NUMPY)
        response = client.post("/predict/digit", content=body, headers=JSON)
        assert response.status_code == 200, response.text
        predicted.append(checks.digit_prediction(response.content))
    assert sum(p == label for p, label in zip(predicted, labels, strict=True)) >= 9, predicted


def test_sentiment_comes_back_in_the_service_shape(client: TestClient) -> None:
    response = client.post("/sentiment", json={"text": "A wonderful, moving film. I loved it."})
    assert response.status_code == 200, response.text
    assert checks.sentiment_label(response.content) == "positive"
