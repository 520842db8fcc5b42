"""GET /generate: PNG grids and JSON, reproducible by seed."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image
from starlette.testclient import TestClient


def test_the_default_is_a_png_grid_of_16_from_the_dcgan(client: TestClient) -> None:
    response = client.get("/generate")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    grid = Image.open(io.BytesIO(response.content))
    assert grid.size == (4 * 28 + 3 * 2, 4 * 28 + 3 * 2)
    assert int(response.headers["x-seed"]) >= 0


@pytest.mark.parametrize(
    "query", ["seed=42&count=5", "seed=42&count=5&digit=3", "seed=7&format=json&count=2"]
)
def test_the_same_seed_gives_the_same_bytes(client: TestClient, query: str) -> None:
    first = client.get(f"/generate?{query}")
    second = client.get(f"/generate?{query}")
    assert first.status_code == 200, first.text
    assert first.content == second.content
    assert first.headers["x-seed"] == query.split("&")[0].removeprefix("seed=")


def test_different_seeds_give_different_images(client: TestClient) -> None:
    assert client.get("/generate?seed=1").content != client.get("/generate?seed=2").content


def test_json_carries_each_digit_as_png_and_pixels(client: TestClient) -> None:
    response = client.get("/generate?count=3&digit=7&format=json&seed=11")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["model"], body["seed"]) == ("gan-conditional", 11)
    assert response.headers["x-seed"] == "11"
    assert len(body["images"]) == 3
    for image in body["images"]:
        assert image["digit"] == 7
        pixels = np.array(image["pixels"])
        assert pixels.shape == (28, 28)
        assert 0 <= pixels.min() <= pixels.max() <= 255
        decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(image["png"]))))
        np.testing.assert_array_equal(decoded, pixels)


def test_unconditional_json_has_no_digits_and_conditional_cycles_without_one(
    client: TestClient,
) -> None:
    dcgan = client.get("/generate?count=2&format=json").json()
    assert dcgan["model"] == "gan-dcgan"
    assert [image["digit"] for image in dcgan["images"]] == [None, None]
    cycling = client.get("/generate?count=12&format=json&model=conditional").json()
    assert [image["digit"] for image in cycling["images"]] == [*range(10), 0, 1]
