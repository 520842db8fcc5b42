"""Fixtures for the demo page (service/static/) in real headless Chromium, on the live server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.helpers.devtools import DevTools, chromium

# Test accuracy at training below which a served model is a stand-in (a tiny test graph, the
# smoke profile) that cannot be expected to read a drawn seven or a glowing review.
TRAINED_ACCURACY = {"digits-cnn": 0.95, "sentiment-lstm": 0.8}


@pytest.fixture(scope="package")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    """Headless Chromium with one blank tab; skips where Chromium is not installed."""
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as devtools:
        yield devtools


@pytest.fixture(scope="package")
def page(browser: DevTools, live_server: str) -> DevTools:
    """The tab on the demo page, loaded and scripted, shared by the package's tests."""
    browser.send("Page.navigate", url=f"{live_server}/")
    loaded = "document.readyState === 'complete'"
    scripted = "!!document.querySelector('[data-testid=digit-bar-9]')"  # app.js drew the bars
    browser.wait_for(f"{loaded} && {scripted}", "the page and its script to load")
    return browser


@pytest.fixture(scope="package")
def http(live_server: str) -> Iterator[httpx.Client]:
    """A client of the same live server, to compare the page with what the API answers."""
    with httpx.Client(base_url=live_server, timeout=30.0, trust_env=False) as client:
        yield client


@pytest.fixture(scope="package")
def trained(http: httpx.Client) -> set[str]:
    """The served models whose test accuracy at training shows a real model, not a stand-in."""
    response = http.get("/v1/models")
    assert response.status_code == 200, response.text
    accuracy = {
        m["name"]: m["metrics"].get("test_accuracy", 0.0) for m in response.json()["models"]
    }
    return {name for name, floor in TRAINED_ACCURACY.items() if accuracy.get(name, 0.0) >= floor}
