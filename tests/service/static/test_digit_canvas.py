"""The demo page's digit canvas: draw with the mouse, predict, clear."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import httpx
import pytest

from tests.helpers.devtools import DevTools, result_state, text_of

pytestmark = pytest.mark.browser

# A seven as a user draws it, in fractions of the canvas: a top bar, then the long diagonal.
SEVEN_STROKES = [[(0.22, 0.2), (0.78, 0.2), (0.45, 0.85)]]


def draw(page: DevTools, strokes: list[list[tuple[float, float]]]) -> None:
    """Drag the mouse along each stroke over the canvas, in small steps like a real hand."""
    page.evaluate("document.querySelector('[data-testid=digit-canvas]').scrollIntoView()")
    rect = page.evaluate(
        "(() => { const r = document.querySelector('[data-testid=digit-canvas]')"
        ".getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()"
    )
    left, top, width, height = rect
    for stroke in strokes:
        points = [(left + fx * width, top + fy * height) for fx, fy in stroke]
        page.mouse("mousePressed", *points[0], 1)
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            for step in range(1, 13):
                page.mouse("mouseMoved", x0 + (x1 - x0) * step / 12, y0 + (y1 - y0) * step / 12, 1)
        page.mouse("mouseReleased", *points[-1], 0)


def test_the_predict_button_asks_again_and_clear_resets(page: DevTools) -> None:
    page.click("digit-clear")
    draw(page, SEVEN_STROKES)
    page.click("digit-predict")
    page.wait_for(f"{result_state('digit-result')} === 'done'", "the digit prediction")
    page.click("digit-clear")
    assert page.evaluate(text_of("digit-top")) == "?", "Clear should forget the old answer"
    page.click("digit-predict")
    assert page.wait_for(text_of("digit-error"), "a hint to draw first") == "Draw a digit first."
    page.assert_no_errors()


def test_a_drawn_seven_shows_the_api_answer(
    page: DevTools, http: httpx.Client, trained: set[str]
) -> None:
    page.click("digit-clear")
    draw(page, SEVEN_STROKES)
    page.wait_for(f"{result_state('digit-result')} === 'done'", "the digit prediction")
    shown = page.evaluate(text_of("digit-top"))
    bars = page.evaluate(
        "[...document.querySelectorAll('[data-testid^=digit-bar-]')].map(row =>"
        " [row.classList.contains('top'), parseFloat(row.querySelector('.bar-fill').style.width)])"
    )
    answer = _api_answer_for_the_canvas(page, http)
    assert shown == str(answer["digit"]), f"page shows {shown}, the API says {answer}"
    assert len(bars) == 10, "one probability bar per digit"
    assert [top for top, _ in bars] == [d == answer["digit"] for d in range(10)], bars
    widths = [width for _, width in bars]
    assert widths == pytest.approx([100 * p for p in answer["probabilities"]], abs=0.1), bars
    assert page.evaluate(text_of("digit-confidence")).endswith("% confident")
    assert answer["model"] in page.evaluate(text_of("digit-model-info"))
    if "digits-cnn" in trained:
        assert shown == "7", f"a trained CNN should read the drawn seven; it says {answer}"
    page.assert_no_errors()


def _api_answer_for_the_canvas(page: DevTools, http: httpx.Client) -> dict[str, Any]:
    """The same canvas, posted directly: the page must show exactly what the API answers."""
    canvas = page.evaluate("document.querySelector('[data-testid=digit-canvas]').toDataURL()")
    png = base64.b64decode(canvas.split(",", 1)[1])
    response = http.post(
        "/predict/digit?model=cnn", content=png, headers={"Content-Type": "image/png"}
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer
