"""API keys, the admin token and CORS: off by default; when on, only probes stay open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.helpers.apps import running_app, tiny_settings
from tests.helpers.errors import BLANK, assert_error

KEY = "key-one"
TOKEN = "admin-token"


@pytest.fixture(scope="module")
def keyed(tiny_repository: Path) -> Iterator[TestClient]:
    settings = tiny_settings(
        tiny_repository,
        models=["digits-cnn", "sentiment-lstm", "gan-dcgan"],
        api_keys=["other-key", KEY],
        admin_token=TOKEN,
    )
    with running_app(settings) as client:
        yield client


INFERENCE = [
    ("post", "/predict/digit", {"json": {"pixels": BLANK}}),
    ("post", "/sentiment", {"json": {"text": "good"}}),
    ("get", "/generate?count=1", {}),
]


@pytest.mark.parametrize(("method", "url", "kwargs"), INFERENCE)
@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}],
    ids=["none", "wrong key", "wrong bearer", "not bearer"],
)
def test_inference_without_a_valid_key_is_401(
    keyed: TestClient, method: str, url: str, kwargs: dict[str, object], headers: dict[str, str]
) -> None:
    response = getattr(keyed, method)(url, headers=headers, **kwargs)
    assert "API key" in assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "url", "kwargs"), INFERENCE)
@pytest.mark.parametrize(
    "headers", [{"X-API-Key": KEY}, {"Authorization": f"Bearer {KEY}"}], ids=["header", "bearer"]
)
def test_inference_with_a_valid_key_is_served(
    keyed: TestClient, method: str, url: str, kwargs: dict[str, object], headers: dict[str, str]
) -> None:
    response = getattr(keyed, method)(url, headers=headers, **kwargs)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("url", ["/healthz", "/readyz", "/metrics", "/v1/models", "/openapi.json"])
def test_probes_metrics_and_model_listings_stay_open(keyed: TestClient, url: str) -> None:
    response = keyed.get(url)
    assert response.status_code == 200, response.text


def test_the_key_is_checked_before_the_model_is_looked_up(keyed: TestClient) -> None:
    response = keyed.post("/predict/digit?model=nope", json={"pixels": BLANK})
    assert_error(response, 401, "unauthorized")


def test_the_schema_declares_the_schemes_only_when_keys_are_on(
    keyed: TestClient, client: TestClient
) -> None:
    schemes = keyed.get("/openapi.json").json()["components"]["securitySchemes"]
    assert set(schemes) == {"APIKey", "BearerKey", "AdminToken"}
    assert "securitySchemes" not in client.get("/openapi.json").json()["components"]
    assert "/admin/reload" not in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"X-Admin-Token": TOKEN}, 401, "unauthorized"),
        ({"X-API-Key": KEY}, 403, "forbidden"),
        ({"X-API-Key": KEY, "X-Admin-Token": "wrong"}, 403, "forbidden"),
    ],
    ids=["no api key", "no token", "wrong token"],
)
def test_admin_routes_need_a_key_and_the_token(
    keyed: TestClient, headers: dict[str, str], status: int, code: str
) -> None:
    assert_error(keyed.post("/admin/reload", headers=headers), status, code)


def test_admin_routes_with_key_and_token(keyed: TestClient) -> None:
    response = keyed.post("/admin/reload", headers={"X-API-Key": KEY, "X-Admin-Token": TOKEN})
    assert response.status_code == 200, response.text


def test_without_a_token_admin_routes_do_not_exist(client: TestClient) -> None:
    response = client.post("/admin/reload", headers={"X-Admin-Token": ""})
    assert_error(response, 404, "not_found")


def test_without_keys_inference_is_open(client: TestClient) -> None:
    assert client.post("/sentiment", json={"text": "good"}).status_code == 200


# --- CORS -----------------------------------------------------------------------------------

ORIGIN = "https://demo.example"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type, x-api-key",
}


def test_cors_is_off_by_default(client: TestClient) -> None:
    response = client.post("/sentiment", json={"text": "good"}, headers={"Origin": ORIGIN})
    assert response.status_code == 200, response.text
    assert "access-control-allow-origin" not in response.headers
    assert client.options("/sentiment", headers=PREFLIGHT).status_code == 405


def test_configured_origins_may_call_from_a_browser(tiny_repository: Path) -> None:
    settings = tiny_settings(tiny_repository, models=["sentiment-lstm"], cors_origins=[ORIGIN])
    with running_app(settings) as client:
        preflight = client.options("/sentiment", headers=PREFLIGHT)
        simple = client.post("/sentiment", json={"text": "good"}, headers={"Origin": ORIGIN})
        stranger = client.options(
            "/sentiment", headers=PREFLIGHT | {"Origin": "https://evil.example"}
        )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
    assert simple.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
    assert stranger.status_code == 400
    assert "access-control-allow-origin" not in stranger.headers
