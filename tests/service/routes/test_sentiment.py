"""POST /sentiment."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient


def test_a_text_gets_a_label_and_p_positive(client: TestClient) -> None:
    response = client.post("/sentiment", json={"text": "A good movie, a great one!"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["label"] == "positive"
    assert 0.5 <= body["score"] <= 1
    assert (body["model"], body["model_version"]) == ("sentiment-lstm", "1")


@pytest.mark.parametrize("model", ["rnn", "lstm", "transformer"])
def test_a_batch_keeps_order_and_matches_single_texts(client: TestClient, model: str) -> None:
    texts = ["awful, bad", "good", "the movie"]
    response = client.post(f"/sentiment?model={model}", json={"texts": texts})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == f"sentiment-{model}"
    assert [p["label"] for p in body["predictions"]] == ["negative", "positive", "positive"]
    for text, batched in zip(texts, body["predictions"], strict=True):
        single = client.post(f"/sentiment?model={model}", json={"text": text}).json()
        assert batched["score"] == pytest.approx(single["score"], abs=1e-6)


def test_only_the_last_200_tokens_of_a_long_text_count(client: TestClient) -> None:
    """The training contract: a long review is tokenised whole and its tail is kept."""
    ends_well = "bad " * 300 + "good " * 200
    ends_badly = "good " * 300 + "bad " * 200
    scores = client.post("/sentiment", json={"texts": [ends_well, ends_badly]}).json()
    assert [p["label"] for p in scores["predictions"]] == ["positive", "negative"]
