"""The app as a whole: import boundary, construction without side effects, OpenAPI docs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from starlette.testclient import TestClient

from service.app import create_app
from tests.helpers.apps import ROOT, tiny_settings

FORBIDDEN = "{'tensorflow', 'keras', 'tf2onnx'}"


def test_the_service_imports_no_training_framework() -> None:
    code = f"import sys, service.app; sys.exit(bool({FORBIDDEN} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"service.app pulled in a training framework: {result.stderr}"


def test_create_app_touches_no_model(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    app = create_app(tiny_settings(missing))
    assert app.state.registry.models == {}
    assert not missing.exists()


def test_openapi_documents_bodies_with_examples(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200, response.text
    schema = response.json()
    digit_body = schema["paths"]["/predict/digit"]["post"]["requestBody"]["content"]
    assert {"application/json", "image/png", "multipart/form-data"} <= set(digit_body)
    assert set(digit_body["application/json"]["examples"]) == {"pixels", "image", "batch"}
    text_body = schema["paths"]["/sentiment"]["post"]["requestBody"]["content"]
    assert set(text_body["application/json"]["examples"]) == {"text", "batch"}
    components = schema["components"]["schemas"]
    assert {"PixelsInstance", "ImageInstance", "DigitBatchRequest", "ErrorEnvelope"} <= set(
        components
    )
    assert "last 200 tokens" in schema["paths"]["/sentiment"]["post"]["description"]


def test_the_docs_page_is_served(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200, response.text
    assert "swagger" in response.text.lower()


def test_documented_examples_are_accepted(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path in ("/predict/digit", "/sentiment"):
        examples = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"][
            "examples"
        ]
        for name, example in examples.items():
            response = client.post(path, json=example["value"])
            assert response.status_code == 200, f"{path} example {name}: {response.text}"
