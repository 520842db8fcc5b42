"""The Starlette copies of /predict/digit and /sentiment: served first, same answers, same docs."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from service.app import create_app
from service.fast_routes import HANDLERS, LabelledRoute
from tests.helpers.apps import running_app, tiny_settings
from tests.helpers.errors import BLANK, assert_error


def fast_paths(client: TestClient) -> list[str]:
    routes = client.app.router.routes  # type: ignore[attr-defined]
    return [route.path for route in routes if isinstance(route, LabelledRoute)]


def test_the_fast_routes_come_first_and_answer(client: TestClient) -> None:
    routes = client.app.router.routes  # type: ignore[attr-defined]
    assert sorted(route.path for route in routes[: len(HANDLERS)]) == sorted(HANDLERS)
    assert sorted(fast_paths(client)) == sorted(HANDLERS)
    assert client.post("/predict/digit?model=mlp", json={"pixels": BLANK}).json()["model"] == (
        "digits-mlp"
    )
    assert client.post("/sentiment", json={"text": "good"}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/predict/digit", 405, "method_not_allowed"),
        ("post", "/predict/digit?model=nope", 404, "unknown_model"),
        ("post", "/sentiment", 415, "unsupported_media_type"),
    ],
)
def test_errors_keep_the_envelope(
    client: TestClient, method: str, path: str, status: int, code: str
) -> None:
    assert_error(client.request(method.upper(), path, content=b"x"), status, code)


def test_openapi_still_documents_the_routes_and_their_model_parameter(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/predict/digit", "/sentiment"):
        (parameter,) = paths[path]["post"]["parameters"]
        assert parameter["name"] == "model"
        assert parameter["in"] == "query"
        assert "default" in parameter["description"]
        assert paths[path]["post"]["requestBody"]["required"]
    for path in ("/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer"):
        documented = {p["name"] for p in paths[path]["post"]["parameters"] if p["in"] == "path"}
        assert documented == {"name", "version"} & set(path.replace("}", "{").split("{"))


def test_a_matched_fast_route_names_itself_for_the_metrics_label() -> None:
    async def endpoint(request: Request) -> Response:
        return Response(request.scope["route"].path)

    route = LabelledRoute("/predict/digit", endpoint, methods=["POST"])
    match, child = route.matches({"type": "http", "path": "/predict/digit", "method": "POST"})
    assert (match.name, child["route"]) == ("FULL", route)
    match, child = route.matches({"type": "http", "path": "/elsewhere", "method": "POST"})
    assert (match.name, child) == ("NONE", {})


def test_with_api_keys_only_fastapi_routes_serve_so_the_key_is_checked(
    tiny_repository: Path,
) -> None:
    settings = tiny_settings(tiny_repository, models=["digits-cnn"], api_keys=["k"])
    assert not [r for r in create_app(settings).router.routes if isinstance(r, LabelledRoute)]
    with running_app(settings) as keyed:
        assert_error(keyed.post("/predict/digit", json={"pixels": BLANK}), 401, "unauthorized")
        served = keyed.post("/predict/digit", json={"pixels": BLANK}, headers={"X-API-Key": "k"})
        assert served.status_code == 200


@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        ("/v2/models/nope/infer", 404, "nope"),
        ("/v2/models/digits-mlp/versions/9/infer", 404, "version"),
        ("/v2/models/digits-mlp/infer", 400, "JSON"),
    ],
)
def test_protocol_errors_keep_the_protocol_shape(
    client: TestClient, path: str, status: int, fragment: str
) -> None:
    response = client.post(path, content=b"not json")
    assert response.status_code == status
    assert fragment in response.json()["error"], response.text


def test_protocol_inference_runs_on_the_fast_route(client: TestClient) -> None:
    body = {"inputs": [{"name": "image", "shape": [1, 28, 28, 1], "datatype": "FP32",
                        "data": [0.0] * 784}]}  # fmt: skip
    for path in ("/v2/models/digits-mlp/infer", "/v2/models/digits-mlp/versions/1/infer"):
        response = client.post(path, json=body)
        assert response.status_code == 200, response.text
        assert response.json()["model_name"] == "digits-mlp"
