"""Conformance with NVIDIA's own client: tritonclient.http against `python -m service` on loopback.

Every model, JSON and binary tensors, batch 1 and 64 (the tiny repository batches 16 rows, so 64
rides in four batches), with results equal to the human endpoints' for the same input.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from contract.metadata import ImagePreprocessing, ModelMetadata, NoisePreprocessing
from contract.repository import read_metadata, version_dir
from contract.tensors import LatentDraw, generated_pixels, image_batch, latent_batch
from contract.text import Vocabulary, encode_batch
from tests.helpers.apps import server_process
from tests.helpers.tiny_models import DIGIT_NAMES, GAN_NAMES, SENTIMENT_NAMES

httpclient = pytest.importorskip("tritonclient.http", reason="tritonclient is a dev dependency")
InferenceServerException = pytest.importorskip("tritonclient.utils").InferenceServerException

pytestmark = pytest.mark.e2e
BATCHES = (1, 64)
REVIEWS = ("a great movie", "awful, bad", "the movie", "good good good", "bad but great")


@pytest.fixture(scope="module")
def server(tiny_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The tiny repository behind `python -m service`; yields host:port."""
    log_path = tmp_path_factory.mktemp("oip-server") / "server.log"
    with server_process(tiny_repository, log_path) as (_, base_url):
        yield base_url.removeprefix("http://")


@pytest.fixture(scope="module")
def triton(server: str) -> Iterator[httpclient.InferenceServerClient]:
    client = httpclient.InferenceServerClient(url=server, concurrency=4)
    yield client
    client.close()


@pytest.fixture(scope="module")
def human(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://{server}", timeout=30.0, trust_env=False) as client:
        yield client


def metadata_of(repository: Path, name: str) -> ModelMetadata:
    return read_metadata(version_dir(repository, name, "1"))


def run(
    triton: httpclient.InferenceServerClient,
    model: str,
    arrays: dict[str, np.ndarray],
    binary: bool,
) -> httpclient.InferResult:
    inputs = []
    for name, array in arrays.items():
        datatype = "BYTES" if array.dtype == np.object_ else _datatype(array)
        tensor = httpclient.InferInput(name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array, binary_data=binary)
        inputs.append(tensor)
    return triton.infer(model, inputs, request_id="conformance", outputs=None)


def _datatype(array: np.ndarray) -> str:
    return {"float32": "FP32", "int64": "INT64", "float16": "FP16"}[array.dtype.name]


def test_server_and_models_are_live_and_ready(triton: httpclient.InferenceServerClient) -> None:
    assert triton.is_server_live()
    assert triton.is_server_ready()
    for name in (*DIGIT_NAMES, *SENTIMENT_NAMES, *GAN_NAMES):
        assert triton.is_model_ready(name), name
        assert triton.get_model_metadata(name)["name"] == name
        assert triton.get_model_config(name)["max_batch_size"] > 0
    assert not triton.is_model_ready("digits-cnn", model_version="2")
    assert "binary_tensor_data" in triton.get_server_metadata()["extensions"]


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
@pytest.mark.parametrize("rows", BATCHES)
@pytest.mark.parametrize("model", DIGIT_NAMES)
def test_digits_equal_predict_digit(
    triton: httpclient.InferenceServerClient,
    human: httpx.Client,
    tiny_repository: Path,
    model: str,
    rows: int,
    binary: bool,
) -> None:
    pixels = np.random.default_rng(rows).integers(0, 256, (rows, 28, 28), dtype=np.uint8)
    image = image_batch(ImagePreprocessing(), pixels)  # pixels / 255, as /predict/digit scales
    result = run(triton, model, {"image": image}, binary)
    assert result.get_response()["id"] == "conformance"
    probabilities = result.as_numpy("probabilities")
    assert probabilities.shape == (rows, 10)
    instances = [{"pixels": digit.tolist()} for digit in pixels]
    answer = human.post(f"/predict/digit?model={model}", json={"instances": instances})
    assert answer.status_code == 200, answer.text
    expected = np.array([p["probabilities"] for p in answer.json()["predictions"]], np.float32)
    np.testing.assert_array_equal(probabilities, expected)


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
@pytest.mark.parametrize("rows", BATCHES)
@pytest.mark.parametrize("model", SENTIMENT_NAMES)
def test_sentiment_text_and_tokens_equal_sentiment(
    triton: httpclient.InferenceServerClient,
    human: httpx.Client,
    tiny_repository: Path,
    model: str,
    rows: int,
    binary: bool,
) -> None:
    texts = [REVIEWS[row % len(REVIEWS)] for row in range(rows)]
    from_text = run(triton, model, {"text": np.array(texts, dtype=np.object_)}, binary)
    scores = from_text.as_numpy("positive_probability").reshape(rows)
    folder = version_dir(tiny_repository, model, "1")
    tokens = encode_batch(Vocabulary.load(folder / "vocab.txt"), texts, 200)
    from_tokens = run(triton, model, {"tokens": tokens}, binary)
    np.testing.assert_array_equal(
        from_tokens.as_numpy("positive_probability").reshape(rows), scores
    )
    answer = human.post(f"/sentiment?model={model}", json={"texts": texts})
    assert answer.status_code == 200, answer.text
    expected = np.array([p["score"] for p in answer.json()["predictions"]], np.float32)
    np.testing.assert_array_equal(scores, expected)


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
@pytest.mark.parametrize("rows", BATCHES)
@pytest.mark.parametrize("model", GAN_NAMES)
def test_generators_equal_generate(
    triton: httpclient.InferenceServerClient,
    human: httpx.Client,
    tiny_repository: Path,
    model: str,
    rows: int,
    binary: bool,
) -> None:
    preprocessing = metadata_of(tiny_repository, model).preprocessing
    assert isinstance(preprocessing, NoisePreprocessing)
    draw = LatentDraw(rows, seed=rows + 7)
    arrays = dict(zip(("noise", "label"), latent_batch(preprocessing, draw), strict=False))
    images = run(triton, model, arrays, binary).as_numpy("image")
    assert images.shape == (rows, 28, 28, 1)
    short = model.removeprefix("gan-")
    query = f"model={short}&count={rows}&seed={draw.seed}&format=json"
    answer = human.get(f"/generate?{query}")
    assert answer.status_code == 200, answer.text
    expected = np.array([image["pixels"] for image in answer.json()["images"]], np.uint8)
    np.testing.assert_array_equal(generated_pixels(images), expected)


@pytest.mark.parametrize(
    ("model", "arrays", "says"),
    [
        ("digits-cnn", {"pixels": np.zeros((1, 28, 28, 1), np.float32)}, "unknown input 'pixels'"),
        ("digits-cnn", {"image": np.zeros((1, 28, 28), np.float32)}, "expected [-1, 28, 28, 1]"),
        ("digits-cnn", {"image": np.zeros((1, 28, 28, 1), np.int64)}, "expected FP32"),
        ("sentiment-lstm", {"tokens": np.full((1, 200), 10**6, np.int64)}, "vocabulary has ids"),
    ],
)
@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_bad_tensors_raise_the_servers_message(
    triton: httpclient.InferenceServerClient,
    model: str,
    arrays: dict[str, np.ndarray],
    says: str,
    binary: bool,
) -> None:
    with pytest.raises(InferenceServerException) as raised:
        run(triton, model, arrays, binary)
    assert raised.value.status() == "400"
    assert says in raised.value.message()


@pytest.mark.parametrize(("model", "version"), [("digits-vit", ""), ("digits-cnn", "2")])
def test_unknown_model_or_version_raises_404(
    triton: httpclient.InferenceServerClient, model: str, version: str
) -> None:
    tensor = httpclient.InferInput("image", [1, 28, 28, 1], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 28, 28, 1), np.float32))
    with pytest.raises(InferenceServerException) as raised:
        triton.infer(model, [tensor], model_version=version)
    assert raised.value.status() == "404"
    assert "not served here" in raised.value.message()


def test_statistics_follow_inference(triton: httpclient.InferenceServerClient) -> None:
    tensor = httpclient.InferInput("image", [2, 28, 28, 1], "FP32")
    tensor.set_data_from_numpy(np.zeros((2, 28, 28, 1), np.float32))
    before = triton.get_inference_statistics("digits-resnet")["model_stats"][0]
    triton.infer("digits-resnet", [tensor])
    after = triton.get_inference_statistics("digits-resnet")["model_stats"][0]
    assert after["inference_count"] - before["inference_count"] == 2
