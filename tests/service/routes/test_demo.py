"""GET /: the demo page and its static files are packaged and served."""

from __future__ import annotations

from starlette.testclient import TestClient

from service.routes.demo import INDEX, STATIC_DIR


def test_the_demo_page_is_packaged() -> None:
    assert INDEX.is_file(), f"{INDEX} is missing: the demo page must ship with the service"


def test_the_root_serves_the_demo_page(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()


def test_static_assets_are_served_under_static(client: TestClient) -> None:
    for asset in sorted(p.name for p in STATIC_DIR.iterdir() if p.suffix in {".js", ".css"}):
        response = client.get(f"/static/{asset}")
        assert response.status_code == 200, f"/static/{asset}: {response.text[:200]}"
