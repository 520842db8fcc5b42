"""GET /v1/models."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from tests.helpers.apps import running_app, tiny_settings
from tests.helpers.tiny_models import ALL_NAMES

BLANK = [[0] * 28 for _ in range(28)]


def test_every_configured_model_is_listed_with_its_contract(client: TestClient) -> None:
    response = client.get("/v1/models")
    assert response.status_code == 200, response.text
    models = {m["name"]: m for m in response.json()["models"]}
    assert set(models) == set(ALL_NAMES)
    cnn = models["digits-cnn"]
    assert (cnn["status"], cnn["short_name"], cnn["endpoint"]) == ("ready", "cnn", "/predict/digit")
    assert (cnn["version"], cnn["versions"]) == ("1", ["1"])
    assert cnn["inputs"] == [{"name": "image", "dtype": "float32", "shape": ["batch", 28, 28, 1]}]
    assert cnn["outputs"][0]["name"] == "probabilities"
    assert cnn["labels"] == [str(d) for d in range(10)]
    assert cnn["provider"] == "CPUExecutionProvider"
    assert cnn["metrics"] == {"accuracy": 0.5}
    assert cnn["parity"]["passed"] is True
    assert cnn["batching"]["max_batch_size"] == 16
    assert models["gan-conditional"]["inputs"][1]["name"] == "label"


def test_one_model_by_full_or_short_name(client: TestClient) -> None:
    by_name = client.get("/v1/models/sentiment-lstm")
    by_alias = client.get("/v1/models/lstm")
    assert by_name.status_code == 200, by_name.text
    assert by_name.json() == by_alias.json()
    assert by_name.json()["labels"] == ["negative", "positive"]


def test_max_batch_rows_turns_batching_off(tiny_repository: Path) -> None:
    settings = tiny_settings(tiny_repository, models=["digits-cnn"], max_batch_rows=1)
    with running_app(settings) as client:
        described = client.get("/v1/models/cnn").json()
        answer = client.post("/predict/digit", json={"instances": [{"pixels": BLANK}] * 3})
        metrics = client.get("/metrics").text
    assert described["batching"]["max_batch_size"] == 1
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["predictions"]) == 3
    # Three one-row runs, not one three-row run (the warm-up's batches are not counted here).
    assert 'serving_batch_size_count{model="digits-cnn"} 3.0' in metrics
    assert 'serving_batch_size_sum{model="digits-cnn"} 3.0' in metrics


def test_max_batch_rows_never_raises_a_models_own_maximum(tiny_repository: Path) -> None:
    settings = tiny_settings(tiny_repository, models=["digits-cnn"], max_batch_rows=1000)
    with running_app(settings) as client:
        assert client.get("/v1/models/cnn").json()["batching"]["max_batch_size"] == 16
