"""The /v2 routes in-process on the tiny repository: metadata, config, stats, tensors, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

from tests.helpers.apps import running_app, tiny_settings

IMAGE = np.linspace(0, 1, 28 * 28, dtype=np.float32).reshape(1, 28, 28, 1)


def image_input(**overrides: object) -> dict[str, object]:
    tensor = {"name": "image", "shape": [1, 28, 28, 1], "datatype": "FP32"}
    return tensor | {"data": IMAGE.ravel().tolist()} | overrides


def test_server_metadata_names_the_extensions(client: TestClient) -> None:
    response = client.get("/v2")
    assert response.status_code == 200, response.text
    assert {"binary_tensor_data", "model_configuration", "statistics"} <= set(
        response.json()["extensions"]
    )


@pytest.mark.parametrize("path", ["/v2/health/live", "/v2/health/ready"])
def test_health_answers_200_when_ready(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    ("model", "inputs", "outputs"),
    [
        ("digits-cnn", [("image", "FP32", [-1, 28, 28, 1])], [("probabilities", "FP32", [-1, 10])]),
        (
            "sentiment-lstm",
            [("tokens", "INT64", [-1, 200])],
            [("positive_probability", "FP32", [-1, 1])],
        ),
        (
            "gan-conditional",
            [("noise", "FP32", [-1, 100]), ("label", "INT64", [-1])],
            [("image", "FP32", [-1, 28, 28, 1])],
        ),
    ],
)
def test_model_metadata_lists_tensors_with_a_batch_axis(
    client: TestClient,
    model: str,
    inputs: list[tuple[str, str, list[int]]],
    outputs: list[tuple[str, str, list[int]]],
) -> None:
    for path in (f"/v2/models/{model}", f"/v2/models/{model}/versions/1"):
        response = client.get(path)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["name"] == model
        assert body["versions"] == ["1"]
        assert [(t["name"], t["datatype"], t["shape"]) for t in body["inputs"]] == inputs
        assert [(t["name"], t["datatype"], t["shape"]) for t in body["outputs"]] == outputs


def test_config_has_dims_without_the_batch_axis(client: TestClient) -> None:
    response = client.get("/v2/models/digits-cnn/config")
    assert response.status_code == 200, response.text
    config = response.json()
    assert config["platform"] == "onnxruntime_onnx"
    assert config["max_batch_size"] == 16  # the tiny repository's batching.max_batch_size
    assert config["input"] == [{"name": "image", "data_type": "TYPE_FP32", "dims": [28, 28, 1]}]
    assert config["output"] == [{"name": "probabilities", "data_type": "TYPE_FP32", "dims": [10]}]
    assert config["dynamic_batching"]["max_queue_delay_microseconds"] > 0


def test_stats_count_inferences_of_every_route(client: TestClient) -> None:
    before = client.get("/v2/models/digits-mlp/stats").json()["model_stats"][0]
    pixels = {"pixels": (IMAGE[0, :, :, 0] * 255).round().tolist()}
    assert client.post("/predict/digit?model=mlp", json=pixels).status_code == 200
    body = {"inputs": [image_input()]}
    assert client.post("/v2/models/digits-mlp/infer", json=body).status_code == 200
    after = client.get("/v2/models/digits-mlp/stats").json()["model_stats"][0]
    assert after["inference_count"] - before["inference_count"] == 2
    stats = after["inference_stats"]
    assert stats["success"]["count"] - before["inference_stats"]["success"]["count"] == 2
    assert stats["compute_infer"]["ns"] > 0
    assert stats["queue"]["count"] >= 2
    every = client.get("/v2/models/stats").json()["model_stats"]
    assert {entry["name"] for entry in every} >= {"digits-mlp", "sentiment-lstm", "gan-dcgan"}


def test_infer_echoes_the_id_and_answers_the_requested_output(client: TestClient) -> None:
    body = {"id": "req-7", "inputs": [image_input()], "outputs": [{"name": "probabilities"}]}
    response = client.post("/v2/models/digits-cnn/infer", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["id"] == "req-7"
    assert answer["model_name"] == "digits-cnn"
    assert answer["model_version"] == "1"
    (output,) = answer["outputs"]
    assert output["shape"] == [1, 10]
    assert output["datatype"] == "FP32"
    assert sum(output["data"]) == pytest.approx(1.0, abs=1e-4)


def test_sentiment_scores_raw_text(client: TestClient) -> None:
    text = {"name": "text", "shape": [2], "datatype": "BYTES", "data": ["a great movie", "awful"]}
    response = client.post("/v2/models/sentiment-lstm/infer", json={"inputs": [text]})
    assert response.status_code == 200, response.text
    (output,) = response.json()["outputs"]
    assert output["name"] == "positive_probability"
    assert output["shape"] == [2, 1]
    good, bad = output["data"]
    assert good > 0.5 > bad


@pytest.mark.parametrize(
    ("model", "tensor", "says"),
    [
        ("digits-cnn", image_input(name="pixels"), "unknown input 'pixels'"),
        ("digits-cnn", image_input(datatype="FP64"), "datatype 'FP64'; expected FP32"),
        ("digits-cnn", image_input(datatype="FLOAT"), "datatype 'FLOAT'"),
        (
            "digits-cnn",
            image_input(shape=[1, 28, 28]),
            "shape [1, 28, 28]; expected [-1, 28, 28, 1]",
        ),
        (
            "digits-cnn",
            image_input(shape=[1, 784], data=IMAGE.ravel().tolist()),
            "shape [1, 784]; expected [-1, 28, 28, 1]",
        ),
        ("digits-cnn", image_input(data=[0.5] * 10), "(784 values) but its data holds 10"),
        ("digits-cnn", image_input(data=["x"] * 784), "data is not FP32"),
        (
            "sentiment-lstm",
            {"name": "tokens", "shape": [1, 200], "datatype": "INT64", "data": [99] * 200},
            "vocabulary has ids 0 to",
        ),
        (
            "sentiment-lstm",
            {"name": "text", "shape": [1], "datatype": "FP32", "data": [1.0]},
            "expected BYTES",
        ),
        (
            "gan-conditional",
            {"name": "noise", "shape": [1, 100], "datatype": "FP32", "data": [0.0] * 100},
            "missing input label",
        ),
    ],
)
def test_a_bad_tensor_gets_400_naming_the_problem(
    client: TestClient, model: str, tensor: dict[str, object], says: str
) -> None:
    response = client.post(f"/v2/models/{model}/infer", json={"inputs": [tensor]})
    assert response.status_code == 400, response.text
    assert says in response.json()["error"]


def test_an_unknown_output_gets_400(client: TestClient) -> None:
    body = {"inputs": [image_input()], "outputs": [{"name": "logits"}]}
    response = client.post("/v2/models/digits-cnn/infer", json=body)
    assert response.status_code == 400, response.text
    assert "unknown output 'logits'" in response.json()["error"]


@pytest.mark.parametrize(
    ("path", "says"),
    [
        (
            "/v2/models/digits-cnn/versions/2/infer",
            "version '2' is not served here; it serves version 1",
        ),
        ("/v2/models/digits-vit/infer", "model 'digits-vit' is not served here"),
    ],
)
def test_an_unknown_model_or_version_gets_404(client: TestClient, path: str, says: str) -> None:
    response = client.post(path, json={"inputs": [image_input()]})
    assert response.status_code == 404, response.text
    assert response.json() == {"error": response.json()["error"]}
    assert says in response.json()["error"]


@pytest.mark.parametrize(
    "path", ["/v2/models/digits-vit", "/v2/models/digits-cnn/versions/3/ready"]
)
def test_metadata_of_an_unknown_model_or_version_is_404(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_invalid_json_gets_400(client: TestClient) -> None:
    response = client.post("/v2/models/digits-cnn/infer", content=b"{not json")
    assert response.status_code == 400, response.text
    assert "not valid JSON" in response.json()["error"]


def test_api_keys_guard_inference_in_the_protocol_shape(tiny_repository: Path) -> None:
    with running_app(tiny_settings(tiny_repository, api_keys=["k1"])) as keyed:
        refused = keyed.post("/v2/models/digits-cnn/infer", json={"inputs": [image_input()]})
        assert refused.status_code == 401, refused.text
        assert isinstance(refused.json()["error"], str)
        assert keyed.get("/v2/health/ready").status_code == 200  # probes need no key
        allowed = keyed.post(
            "/v2/models/digits-cnn/infer",
            json={"inputs": [image_input()]},
            headers={"X-API-Key": "k1"},
        )
        assert allowed.status_code == 200, allowed.text


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("get", "/v2/no-such-route", {}, 404),
        ("delete", "/v2/models/digits-cnn", {}, 405),
        (
            "post",
            "/v2/models/digits-cnn/infer",
            {"content": b"{}", "headers": {"content-length": str(9 * 2**20)}},
            413,
        ),
    ],
    ids=["routing 404", "routing 405", "body cap 413"],
)
def test_errors_outside_the_routes_keep_the_protocols_shape_under_v2(
    client: TestClient, method: str, path: str, kwargs: dict[str, object], status: int
) -> None:
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"], str), "the protocol's error is a plain message"
