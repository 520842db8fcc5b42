"""GET /v1/models."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.service.tiny_models import ALL_NAMES


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
