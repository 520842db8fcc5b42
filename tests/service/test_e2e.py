"""Every endpoint and error over real HTTP, against `python -m service` on the real models.

Assertions hold for any trained quality (the smoke profile included): contracts, not accuracy.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from loadtest.drawing import render_user_style

pytestmark = pytest.mark.e2e

SEVEN = np.zeros((28, 28), dtype=np.uint8)
SEVEN[6:9, 7:22] = 255
for _row in range(9, 23):
    SEVEN[_row, 20 - (_row - 9) * 9 // 13 : 23 - (_row - 9) * 9 // 13] = 255
PNG = render_user_style(SEVEN)
REVIEW = "A wonderful film: moving, beautifully acted, and I loved every minute of it."


@pytest.fixture(scope="module")
def http(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=60.0, trust_env=False) as client:
        yield client


@pytest.fixture(scope="module")
def served(http: httpx.Client) -> dict[str, dict[str, object]]:
    response = http.get("/v1/models")
    assert response.status_code == 200, response.text
    return {m["name"]: m for m in response.json()["models"]}


def short_names(served: dict[str, dict[str, object]], endpoint: str) -> list[str]:
    return [str(m["short_name"]) for m in served.values() if m["endpoint"] == endpoint]


def test_liveness_and_readiness(http: httpx.Client, served: dict[str, dict[str, object]]) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["models"]) == set(served)


def test_models_report_contract_metrics_and_provider(served: dict[str, dict[str, object]]) -> None:
    assert served, "at least one model is served"
    for name, model in served.items():
        assert model["status"] == "ready", name
        assert model["provider"], name
        assert model["inputs"], name
        assert model["outputs"], name
        assert model["parity"] is not None, name


def test_digits_in_every_format_and_model(
    http: httpx.Client, served: dict[str, dict[str, object]]
) -> None:
    models = short_names(served, "/predict/digit")
    if not models:
        pytest.skip("no digit model served")
    encoded = base64.b64encode(PNG).decode()
    for model in models:
        url = f"/predict/digit?model={model}"
        answers = [
            http.post(url, json={"pixels": SEVEN.tolist()}),
            http.post(url, json={"image": encoded}),
            http.post(url, content=PNG, headers={"content-type": "image/png"}),
            http.post(url, files={"file": ("seven.png", PNG, "image/png")}),
        ]
        for response in answers:
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["model"] == served_name(served, model)
            assert len(body["probabilities"]) == 10
            assert body["probabilities"][body["digit"]] == pytest.approx(body["confidence"])
        uploads = [answer.json()["probabilities"] for answer in answers[1:]]
        for other in uploads[1:]:
            assert other == pytest.approx(uploads[0], abs=1e-6), "the same upload, however sent"
        batch = http.post(url, json={"instances": [{"pixels": SEVEN.tolist()}, {"image": encoded}]})
        assert batch.status_code == 200, batch.text
        assert [p["digit"] for p in batch.json()["predictions"]] == [
            answers[0].json()["digit"],
            answers[1].json()["digit"],
        ]


def served_name(served: dict[str, dict[str, object]], short: str) -> str:
    return next(name for name, m in served.items() if m["short_name"] == short)


def test_sentiment_single_and_batch(
    http: httpx.Client, served: dict[str, dict[str, object]]
) -> None:
    models = short_names(served, "/sentiment")
    if not models:
        pytest.skip("no sentiment model served")
    for model in models:
        single = http.post(f"/sentiment?model={model}", json={"text": REVIEW})
        assert single.status_code == 200, single.text
        assert single.json()["label"] in {"positive", "negative"}
        assert 0 <= single.json()["score"] <= 1
        batch = http.post(
            f"/sentiment?model={model}", json={"texts": [REVIEW, "Dull and far too long."]}
        )
        assert batch.status_code == 200, batch.text
        assert batch.json()["predictions"][0]["score"] == pytest.approx(
            single.json()["score"], abs=1e-5
        )


def test_generation_is_reproducible(
    http: httpx.Client, served: dict[str, dict[str, object]]
) -> None:
    models = short_names(served, "/generate")
    if not models:
        pytest.skip("no generator served")
    for model in models:
        digit = "&digit=4" if model == "conditional" else ""
        first = http.get(f"/generate?model={model}&count=9&seed=123{digit}")
        second = http.get(f"/generate?model={model}&count=9&seed=123{digit}")
        assert first.status_code == 200, first.text
        assert first.headers["content-type"] == "image/png"
        assert first.headers["x-seed"] == "123"
        assert first.content == second.content
        assert Image.open(io.BytesIO(first.content)).size == (3 * 28 + 4, 3 * 28 + 4)
        as_json = http.get(f"/generate?model={model}&count=2&format=json&seed=5{digit}")
        assert as_json.status_code == 200, as_json.text
        assert np.array(as_json.json()["images"][0]["pixels"]).shape == (28, 28)


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status", "code"),
    [
        (
            "post",
            "/predict/digit",
            {"content": b"not an image", "headers": {"content-type": "image/png"}},
            400,
            "invalid_image",
        ),
        (
            "post",
            "/predict/digit?model=nope",
            {"json": {"pixels": SEVEN.tolist()}},
            404,
            "unknown_model",
        ),
        ("get", "/v1/models/nope", {}, 404, "unknown_model"),
        ("get", "/no/such/route", {}, 404, "not_found"),
        (
            "post",
            "/predict/digit",
            {"content": b"0" * 9_000_000, "headers": {"content-type": "image/png"}},
            413,
            "payload_too_large",
        ),
        (
            "post",
            "/predict/digit",
            {"content": b"x", "headers": {"content-type": "text/plain"}},
            415,
            "unsupported_media_type",
        ),
        ("post", "/predict/digit", {"json": {"pixels": [[0] * 28] * 27}}, 422, "invalid_request"),
        ("post", "/predict/digit", {"json": {"pixels": [[999] * 28] * 28}}, 422, "invalid_request"),
        ("post", "/sentiment", {"json": {"text": 3}}, 422, "invalid_request"),
        ("get", "/generate?count=65", {}, 422, "invalid_request"),
    ],
)
def test_errors_over_http(
    http: httpx.Client, method: str, url: str, kwargs: dict[str, object], status: int, code: str
) -> None:
    response = getattr(http, method)(url, **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_concurrent_requests_get_their_own_answers(
    http: httpx.Client, served: dict[str, dict[str, object]]
) -> None:
    if "cnn" not in short_names(served, "/predict/digit"):
        pytest.skip("digits-cnn not served")
    rng = np.random.default_rng(0)
    digits = [rng.integers(0, 256, (28, 28)).tolist() for _ in range(24)]
    singles = [
        http.post("/predict/digit", json={"pixels": d}).json()["probabilities"] for d in digits
    ]
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(
            pool.map(lambda d: http.post("/predict/digit", json={"pixels": d}), digits)
        )
    for single, response in zip(singles, concurrent, strict=True):
        assert response.status_code == 200, response.text
        assert response.json()["probabilities"] == pytest.approx(single, abs=1e-5)


def test_metrics_request_ids_and_docs(http: httpx.Client) -> None:
    traced = http.get("/healthz", headers={"X-Request-ID": "e2e-trace"})
    assert traced.headers["x-request-id"] == "e2e-trace"
    metrics = http.get("/metrics")
    assert metrics.status_code == 200, metrics.text
    names = {f.name for f in text_string_to_metric_families(metrics.text)}
    assert {"serving_requests", "serving_request_duration_seconds", "serving_batch_size"} <= names
    assert http.get("/docs").status_code == 200
    assert "examples" in http.get("/openapi.json").text
