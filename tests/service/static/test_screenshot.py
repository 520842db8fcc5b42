"""The whole demo page, rendered: a screenshot kept with the test report."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.helpers.devtools import DevTools

pytestmark = pytest.mark.browser


def test_a_screenshot_of_the_page_is_saved(
    page: DevTools, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    shot = page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    screenshot = tmp_path / "demo-page.png"
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    request.node.user_properties.append(("screenshot", str(screenshot)))
    assert screenshot.stat().st_size > 10_000, "the screenshot should show a rendered page"
