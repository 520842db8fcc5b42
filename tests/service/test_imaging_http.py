"""Real MNIST digits, re-drawn the way users upload them, classified by the live service."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from loadtest.drawing import render_user_style
from training.data import Mnist, load_mnist

pytestmark = pytest.mark.e2e

DIGITS = 1000
CHUNK = 64
MIN_ACCURACY = 0.98
# Below this on MNIST's own pixels the served model is a stand-in (tiny test graphs, the smoke
# profile), and its accuracy says nothing about preprocessing.
TRAINED_ACCURACY = 0.9
ENDPOINT = "/predict/digit?model=cnn"


@pytest.fixture(scope="module")
def mnist(data_dir: Path) -> Mnist:
    return load_mnist(data_dir)


@pytest.fixture(scope="module")
def uploads(mnist: Mnist) -> tuple[list[bytes], np.ndarray]:
    """The first 1,000 MNIST test digits as PNGs of dark ink on white paper, varied in place."""
    rng = np.random.default_rng(2024)
    pngs = []
    for pixels in mnist.x_test[:DIGITS]:
        scale = rng.uniform(2.5, 6.0)
        room = (200 - round(28 * scale)) // 2
        offset = (int(rng.integers(-room, room + 1)), int(rng.integers(-room, room + 1)))
        pngs.append(render_user_style(pixels, offset=offset, scale=scale))
    return pngs, mnist.y_test[:DIGITS].astype(np.int64)


@pytest.fixture(scope="module")
def http(live_server: str) -> Iterator[httpx.Client]:
    """One pooled keep-alive client; trust_env=False keeps proxies away from loopback."""
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    with httpx.Client(base_url=live_server, timeout=60.0, limits=limits, trust_env=False) as client:
        yield client


def predict_in_batches(http: httpx.Client, instances: list[dict[str, object]]) -> np.ndarray:
    """The predicted digit for each instance, sent as `{"instances": [...]}` batches of 64."""
    predicted: list[int] = []
    for start in range(0, len(instances), CHUNK):
        chunk = instances[start : start + CHUNK]
        response = http.post(ENDPOINT, json={"instances": chunk})
        assert response.status_code == 200, response.text
        predictions = response.json()["predictions"]
        assert len(predictions) == len(chunk), "one prediction per instance, in order"
        predicted.extend(p["digit"] for p in predictions)
    return np.array(predicted)


@pytest.fixture(scope="module")
def batch_digits(http: httpx.Client, uploads: tuple[list[bytes], np.ndarray]) -> np.ndarray:
    """The digit the service predicts for every user-style upload (base64 PNG instances)."""
    images = [{"image": base64.b64encode(png).decode("ascii")} for png in uploads[0]]
    return predict_in_batches(http, images)


@pytest.fixture(scope="module")
def mnist_accuracy(http: httpx.Client, mnist: Mnist) -> float:
    """The served model's accuracy on the same digits sent as MNIST's own 28x28 pixels."""
    pixels = [{"pixels": x.tolist()} for x in mnist.x_test[:DIGITS]]
    predicted = predict_in_batches(http, pixels)
    return float(np.mean(predicted == mnist.y_test[:DIGITS]))


def test_user_style_uploads_are_classified_like_mnist(
    batch_digits: np.ndarray, uploads: tuple[list[bytes], np.ndarray], mnist_accuracy: float
) -> None:
    if mnist_accuracy < TRAINED_ACCURACY:
        pytest.skip(
            f"the served digits-cnn gets {mnist_accuracy:.0%} of raw MNIST right: a stand-in, not "
            "the trained model, so its accuracy cannot judge the preprocessing"
        )
    _, labels = uploads
    wrong = np.flatnonzero(batch_digits != labels)
    accuracy = 1 - len(wrong) / len(labels)
    examples = ", ".join(f"#{i}: {labels[i]}→{batch_digits[i]}" for i in wrong[:10])
    assert accuracy >= MIN_ACCURACY, (
        f"accuracy {accuracy:.2%} on {len(labels)} re-drawn MNIST digits is below "
        f"{MIN_ACCURACY:.0%} (raw MNIST: {mnist_accuracy:.2%}); misclassified "
        f"(label→predicted): {examples}"
    )
    assert accuracy >= mnist_accuracy - 0.01, (
        f"re-drawn digits score {accuracy:.2%}, raw MNIST {mnist_accuracy:.2%}: preprocessing "
        f"loses more than a point; misclassified (label→predicted): {examples}"
    )


@pytest.mark.parametrize("index", [0, 1, 2, 3, 4, 5, 6, 7])
def test_a_raw_png_body_gets_the_batch_answer(
    http: httpx.Client,
    uploads: tuple[list[bytes], np.ndarray],
    batch_digits: np.ndarray,
    index: int,
) -> None:
    response = http.post(ENDPOINT, content=uploads[0][index], headers={"Content-Type": "image/png"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["digit"] == batch_digits[index], "a single upload must match its batched twin"
    assert len(answer["probabilities"]) == 10
    assert answer["confidence"] == pytest.approx(max(answer["probabilities"]))
    assert answer["model"] == "digits-cnn", answer


@pytest.mark.parametrize("index", [10, 11])
def test_a_multipart_upload_gets_the_batch_answer(
    http: httpx.Client,
    uploads: tuple[list[bytes], np.ndarray],
    batch_digits: np.ndarray,
    index: int,
) -> None:
    files = {"file": (f"digit-{index}.png", uploads[0][index], "image/png")}
    response = http.post(ENDPOINT, files=files)
    assert response.status_code == 200, response.text
    assert response.json()["digit"] == batch_digits[index], "a form upload must match its twin"


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header claiming a size, without pixels: a decompression bomb's calling card."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        pytest.param(b"definitely not a picture", 400, "could not decode", id="not an image"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00", 400, "could not decode", id="truncated PNG"),
        pytest.param(png_claiming(100_000, 100_000), 413, "", id="decompression bomb"),
    ],
)
def test_bad_uploads_get_a_clear_error(
    http: httpx.Client, body: bytes, status: int, words: str
) -> None:
    response = http.post(ENDPOINT, content=body, headers={"Content-Type": "image/png"})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"], error
    assert error["message"], error
    assert words in error["message"], error["message"]
