"""The minimal server is a fair ceiling: it answers real digits right, in the service's shape."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from loadtest.bench.minimal_server import MODEL, create_app
from loadtest.payloads import load_digits


def test_it_classifies_real_digits_in_the_services_answer_shape(
    repository: Path, data_dir: Path
) -> None:
    digits = load_digits(data_dir, 16, with_png=False)
    with TestClient(create_app(repository)) as client:
        answers = [
            client.post("/predict/digit", content=digit.pixels_json).json() for digit in digits
        ]
        assert client.get("/readyz").status_code == 200
    right = sum(
        answer["digit"] == digit.label for answer, digit in zip(answers, digits, strict=True)
    )
    assert right >= 14
    assert set(answers[0]) == {"digit", "confidence", "probabilities", "model", "model_version"}
    assert answers[0]["model"] == MODEL
    assert len(answers[0]["probabilities"]) == 10
