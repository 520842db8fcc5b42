"""The demo page's review box: type a review, see the label and score the API gives."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers.devtools import DevTools, result_state, text_of

pytestmark = pytest.mark.browser

# Plain words of praise ("great", "good") so that any sentiment model, trained or a test
# stand-in, has to call it positive.
POSITIVE_REVIEW = (
    "A great film, and a good one to watch twice. The acting is superb, the story is moving and "
    "beautifully told. One of the best movies I have ever seen: I loved every minute of it."
)


def test_a_glowing_review_shows_the_api_answer(
    page: DevTools, http: httpx.Client, trained: set[str]
) -> None:
    page.type_into("sentiment-text", POSITIVE_REVIEW)
    page.click("sentiment-submit")
    page.wait_for(f"{result_state('sentiment-result')} === 'done'", "the sentiment")
    response = http.post("/sentiment?model=lstm", json={"text": POSITIVE_REVIEW})
    assert response.status_code == 200, response.text
    answer = response.json()
    label = page.evaluate(text_of("sentiment-label"))
    assert label == answer["label"], f"page shows {label!r}, the API says {answer}"
    score = page.evaluate(text_of("sentiment-score"))
    assert score == f"P(positive) = {answer['score']:.3f}", score
    assert answer["model"] in page.evaluate(text_of("sentiment-model-info"))
    if "sentiment-lstm" in trained:
        assert label == "positive", f"a trained LSTM should like this review; it says {answer}"
    page.assert_no_errors()
