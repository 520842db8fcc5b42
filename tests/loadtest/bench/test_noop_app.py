"""The no-op route rides on the service's own app: same middleware, same error envelope."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from loadtest.bench.noop_app import NOOP_PATH, create_noop_app
from service.fast_routes import LabelledRoute
from service.settings import Settings


def test_noop_reads_the_body_and_answers_through_the_service_stack(tmp_path: Path) -> None:
    app = create_noop_app(Settings(model_repository=tmp_path, drain_grace_s=0))
    with TestClient(app) as client:
        response = client.post(NOOP_PATH, content=b'{"pixels": []}')
        assert response.status_code == 200, response.text
        assert response.json() == {"received": 14}
        assert "x-request-id" in response.headers  # the service's middleware ran
        assert client.get("/healthz").status_code == 200
    assert isinstance(app.router.routes[0], LabelledRoute), "routed first, as /predict/digit is"
    assert app.router.routes[0].path == NOOP_PATH
