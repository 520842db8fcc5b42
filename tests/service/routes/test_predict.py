"""POST /predict/digit over every accepted body format."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from starlette.testclient import TestClient

from contract.images import to_mnist
from loadtest.drawing import render_user_style

SEVEN = np.zeros((28, 28), dtype=np.uint8)
SEVEN[6:9, 7:22] = 255
for _row in range(9, 23):
    SEVEN[_row, 20 - (_row - 9) * 9 // 13 : 23 - (_row - 9) * 9 // 13] = 255
PNG = render_user_style(SEVEN)  # dark ink on a 200 px white page, as a user uploads it


def check_prediction(body: dict[str, object], model: str = "digits-cnn") -> None:
    assert body["model"] == model
    assert body["model_version"] == "1"
    probabilities = np.array(body["probabilities"])
    assert probabilities.shape == (10,)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    assert body["digit"] == int(probabilities.argmax())
    assert body["confidence"] == pytest.approx(probabilities.max())


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(
            lambda c: c.post("/predict/digit", content=PNG, headers={"content-type": "image/png"}),
            id="raw",
        ),
        pytest.param(
            lambda c: c.post("/predict/digit", files={"file": ("seven.png", PNG, "image/png")}),
            id="multipart",
        ),
        pytest.param(
            lambda c: c.post("/predict/digit", json={"image": base64.b64encode(PNG).decode()}),
            id="base64",
        ),
    ],
)
def test_an_upload_is_classified_like_its_mnist_preprocessed_pixels(
    client: TestClient, send: object
) -> None:
    response = send(client)  # type: ignore[operator]
    assert response.status_code == 200, response.text
    check_prediction(response.json())
    preprocessed = to_mnist(PNG).tolist()  # what the service makes of the upload
    from_pixels = client.post("/predict/digit", json={"pixels": preprocessed}).json()
    assert response.json()["probabilities"] == pytest.approx(from_pixels["probabilities"], abs=1e-6)


@pytest.mark.parametrize(
    ("query", "model"),
    [
        ("", "digits-cnn"),
        ("?model=mlp", "digits-mlp"),
        ("?model=resnet", "digits-resnet"),
        ("?model=digits-mlp", "digits-mlp"),
    ],
)
def test_model_choice(client: TestClient, query: str, model: str) -> None:
    response = client.post(f"/predict/digit{query}", json={"pixels": SEVEN.tolist()})
    assert response.status_code == 200, response.text
    check_prediction(response.json(), model)


def test_a_batch_answers_each_instance_in_order_like_single_requests(client: TestClient) -> None:
    rng = np.random.default_rng(3)
    digits = [
        rng.integers(0, 256, (28, 28)).tolist() for _ in range(40)
    ]  # > the model's batch of 16
    instances = [{"pixels": p} for p in digits] + [{"image": base64.b64encode(PNG).decode()}]
    response = client.post("/predict/digit", json={"instances": instances})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"predictions", "model", "model_version"}
    assert len(body["predictions"]) == len(instances)
    for pixels, batched in zip(digits[:5], body["predictions"], strict=False):
        single = client.post("/predict/digit", json={"pixels": pixels}).json()
        np.testing.assert_allclose(batched["probabilities"], single["probabilities"], atol=1e-6)


def test_float_pixels_are_accepted(client: TestClient) -> None:
    response = client.post("/predict/digit", json={"pixels": (SEVEN / 1.0 * 0.5).tolist()})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("value", ["true", "false"])
def test_boolean_pixels_are_refused_over_http(client: TestClient, value: str) -> None:
    rows = ",".join(["[" + ",".join([value] * 28) + "]"] * 28)
    response = client.post(
        "/predict/digit",
        content=f'{{"pixels": [{rows}]}}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert "only numbers" in response.json()["error"]["message"]
