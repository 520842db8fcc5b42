"""Payload parsing: JSON bodies → validated arrays and texts, with messages naming the problem."""

from __future__ import annotations

import asyncio
import base64

import numpy as np
import pytest

from loadtest.drawing import render_user_style
from service.decoding import ImageDecoder
from service.errors import InvalidImage, InvalidRequest, PayloadTooLarge, ServiceError
from service.inputs import (
    DigitInputs,
    digits_from_json,
    image_bytes,
    parse_json,
    pixels_array,
    texts_from_json,
)

SIZE = (28, 28)
BLANK = [[0] * 28 for _ in range(28)]


def digits(
    payload: object, max_instances: int = 64, max_request_pixels: int = 40_000_000
) -> DigitInputs:
    decoder = ImageDecoder(threads=1, max_request_pixels=max_request_pixels)
    try:
        return asyncio.run(digits_from_json(payload, SIZE, max_instances, decoder))
    finally:
        decoder.close()


def seven_png() -> bytes:
    pixels = np.zeros((28, 28), dtype=np.uint8)
    pixels[6:9, 7:22] = 255
    for row in range(9, 23):
        pixels[row, 20 - (row - 9) * 9 // 13 : 23 - (row - 9) * 9 // 13] = 255
    return render_user_style(pixels)


def test_pixels_become_float32_pixel_values() -> None:
    array = pixels_array([[255] * 28] * 28, "body", SIZE)
    assert array.dtype == np.float32
    assert array.shape == SIZE
    assert array.max() == 255


@pytest.mark.parametrize(
    ("pixels", "fragment"),
    [
        ([[0] * 28] * 27, "shape (27, 28)"),
        ([[0] * 27] * 28, "shape (28, 27)"),
        ([0] * 784, "shape (784,)"),
        ([[0] * 28] * 27 + [[0] * 27], "28 rows of 28 numbers"),
        ([["0"] * 28] * 28, "only numbers"),
        ([[None] * 28] * 28, "only numbers"),
        ([[True] * 28] * 28, "only numbers"),
        ([[0] * 28] * 27 + [[0] * 27 + [256]], "pixels[27][27] is 256"),
        ([[-1] + [0] * 27] + [[0] * 28] * 27, "pixels[0][0] is -1"),
        (
            [[0] * 28] * 3 + [[0.0, float("nan")] + [0] * 26] + [[0] * 28] * 24,
            "pixels[3][1] is nan",
        ),
        ([[float("inf")] * 28] * 28, "finite"),
        (5, "shape ()"),
    ],
)
def test_bad_pixels_are_refused_with_the_bad_shape_or_value(pixels: object, fragment: str) -> None:
    # Booleans aside (the caller rules them out first), the byte path hands every bad input to
    # the general one, which names the problem.
    promises = (False,) if "True" in repr(pixels) else (False, True)
    for booleans_absent in promises:
        with pytest.raises(InvalidRequest) as caught:
            pixels_array(pixels, "body", SIZE, booleans_absent=booleans_absent)
        assert fragment in caught.value.message
        assert caught.value.status_code == 422


@pytest.mark.parametrize(
    "pixels",
    [
        np.random.default_rng(0).integers(0, 256, SIZE).tolist(),
        [[0] * 28] * 27 + [[255] * 28],
        (np.random.default_rng(1).random(SIZE) * 255).tolist(),  # floats: the general path
        [[0] * 27 + [12.5]] + [[0] * 28] * 27,
    ],
)
def test_the_byte_path_and_the_general_path_read_the_same_pixels(pixels: list[list[float]]) -> None:
    fast = pixels_array(pixels, "body", SIZE, booleans_absent=True)
    general = pixels_array(pixels, "body", SIZE)
    assert fast.dtype == general.dtype == np.float32
    np.testing.assert_array_equal(fast, general)
    np.testing.assert_array_equal(fast, np.asarray(pixels, dtype=np.float32))


@pytest.mark.parametrize(
    "encode",
    [
        lambda data: base64.b64encode(data).decode(),
        lambda data: "data:image/png;base64," + base64.b64encode(data).decode(),
        lambda data: base64.urlsafe_b64encode(data).decode().rstrip("="),
        lambda data: base64.encodebytes(data).decode(),  # MIME line breaks
    ],
)
def test_base64_images_are_decoded_in_any_common_spelling(encode: object) -> None:
    data = seven_png()
    assert image_bytes(encode(data), "body") == data  # type: ignore[operator]


def test_invalid_base64_is_an_invalid_image() -> None:
    with pytest.raises(InvalidImage) as caught:
        image_bytes("not base64!!", "body")
    assert "base64" in caught.value.message


def test_a_json_body_of_pixels_or_image_is_one_unbatched_digit() -> None:
    from_pixels = digits({"pixels": BLANK})
    from_image = digits({"image": base64.b64encode(seven_png()).decode()})
    assert (from_pixels.batched, from_image.batched) == (False, False)
    assert from_pixels.pixels.shape == from_image.pixels.shape == (1, 28, 28)
    assert from_image.pixels.max() == 255, "the upload went through the MNIST recipe"


def test_instances_mix_pixels_and_images_in_order() -> None:
    image = base64.b64encode(seven_png()).decode()
    result = digits({"instances": [{"pixels": BLANK}, {"image": image}, {"pixels": BLANK}]})
    assert result.batched
    assert result.pixels.shape == (3, 28, 28)
    assert [float(p.max()) for p in result.pixels] == [0.0, 255.0, 0.0]


@pytest.mark.parametrize(
    ("payload", "error", "fragment"),
    [
        ([BLANK], InvalidRequest, "JSON object"),
        ({"pixel": BLANK}, InvalidRequest, "either 'pixels' or 'image'"),
        ({"pixels": BLANK, "image": "x"}, InvalidRequest, "either 'pixels' or 'image'"),
        ({"pixels": BLANK, "extra": 1}, InvalidRequest, "unknown keys ['extra']"),
        ({"instances": []}, InvalidRequest, "non-empty list"),
        ({"instances": {"pixels": BLANK}}, InvalidRequest, "non-empty list"),
        ({"instances": [{"pixels": BLANK}] * 3}, PayloadTooLarge, "at most 2"),
        ({"instances": [{"pixels": BLANK}, {"pixels": [[0]]}]}, InvalidRequest, "instances[1]"),
        ({"instances": [{"pixels": BLANK}, {"image": "aGVsbG8="}]}, InvalidImage, "instances[1]: "),
        ({"image": 7}, InvalidRequest, "base64 string"),
    ],
)
def test_malformed_digit_bodies_say_what_is_wrong(
    payload: object, error: type[ServiceError], fragment: str
) -> None:
    with pytest.raises(error) as caught:
        digits(payload, max_instances=2)
    assert fragment in caught.value.message


def test_texts_single_and_batched() -> None:
    single = texts_from_json({"text": "good"}, 64, 100)
    batch = texts_from_json({"texts": ["good", "bad"]}, 64, 100)
    assert (single.texts, single.batched) == (["good"], False)
    assert (batch.texts, batch.batched) == (["good", "bad"], True)


@pytest.mark.parametrize(
    ("payload", "error", "fragment"),
    [
        ({"txt": "good"}, InvalidRequest, "'text' or 'texts'"),
        ({"text": "a", "texts": ["b"]}, InvalidRequest, "'text' or 'texts'"),
        ({"text": 5}, InvalidRequest, "text must be a string"),
        ({"text": "   "}, InvalidRequest, "text is empty"),
        ({"texts": []}, InvalidRequest, "non-empty list"),
        ({"texts": ["ok", 3]}, InvalidRequest, "texts[1] must be a string"),
        ({"texts": ["ok"] * 3}, PayloadTooLarge, "at most 2 per request"),
        ({"text": "x" * 11}, PayloadTooLarge, "11 characters; at most 10"),
        ({"texts": ["ok", "x" * 11]}, PayloadTooLarge, "texts[1] has 11 characters"),
    ],
)
def test_malformed_text_bodies_say_what_is_wrong(
    payload: object, error: type[ServiceError], fragment: str
) -> None:
    with pytest.raises(error) as caught:
        texts_from_json(payload, 2, 10)
    assert fragment in caught.value.message


@pytest.mark.parametrize("body", [b"", b"{", b'{"pixels": NaN}', b"[1e400]"])
def test_invalid_json_is_an_invalid_request(body: bytes) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_json(body)
    assert "not valid JSON" in caught.value.message
