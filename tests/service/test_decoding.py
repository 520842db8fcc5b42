"""Uploads decode within a budget: a pixel total per request, and a small pool of decoders."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest
from PIL import Image

from contract import images
from loadtest.drawing import render_user_style
from service import decoding
from service.allocator import return_large_buffers
from service.decoding import ImageDecoder
from service.errors import InvalidImage, PayloadTooLarge
from tests.helpers.images import encode


def declared_only(width: int, height: int) -> bytes:
    """A real PNG whose header declares `width`×`height` (a few kB, never decoded here)."""
    return encode(Image.new("1", (width, height)), "PNG")


def decode(decoder: ImageDecoder, uploads: decoding.Uploads) -> dict[int, np.ndarray]:
    async def scenario() -> dict[int, np.ndarray]:
        return await decoder.decode(uploads)

    try:
        return asyncio.run(scenario())
    finally:
        decoder.close()


def test_the_pixel_total_of_a_request_is_refused_before_any_decode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded: list[object] = []
    monkeypatch.setattr(images, "image_to_mnist", decoded.append)
    uploads = {i: (f"instances[{i}]: ", declared_only(3000, 3000)) for i in range(3)}
    with pytest.raises(PayloadTooLarge) as refused:
        decode(ImageDecoder(threads=1, max_request_pixels=20_000_000), uploads)
    assert "3 image(s) hold 27.0 megapixels together" in refused.value.message
    assert "at most 20 megapixels per request" in refused.value.message
    assert decoded == [], "nothing was decoded"


def test_uploads_within_the_budget_decode_to_mnist_digits() -> None:
    seven = np.zeros((28, 28), np.uint8)
    seven[6:9, 6:22] = 255
    seven[9:24, 14:17] = 255
    uploads = {0: ("", render_user_style(seven)), 1: ("", render_user_style(seven))}
    digits = decode(ImageDecoder(threads=1, max_request_pixels=100_000), uploads)
    assert sorted(digits) == [0, 1]
    assert digits[0].shape == (28, 28)
    assert digits[0].dtype == np.float32


def test_the_service_decodes_exactly_as_the_contract_does() -> None:
    seven = np.zeros((28, 28), np.uint8)
    seven[6:9, 6:22] = 255
    seven[9:24, 14:17] = 255
    png = render_user_style(seven, offset=(30, -20), scale=3.0)
    digits = decode(ImageDecoder(threads=1, max_request_pixels=100_000), {0: ("", png)})
    np.testing.assert_array_equal(digits[0], images.to_mnist(png).astype(np.float32))


def test_each_upload_header_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    opened = 0
    real_open = Image.open

    def counting_open(*args: object, **kwargs: object) -> Image.Image:
        nonlocal opened
        opened += 1
        return real_open(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Image, "open", counting_open)
    seven = np.zeros((28, 28), np.uint8)
    seven[6:24, 12:16] = 255
    uploads = {i: ("", render_user_style(seven)) for i in range(3)}
    decode(ImageDecoder(threads=1, max_request_pixels=1_000_000), uploads)
    assert opened == 3, f"{opened} header reads for 3 uploads: the budget and decode share one"


@pytest.mark.parametrize(
    ("budget", "error", "message"),
    [
        pytest.param(5_000_000, PayloadTooLarge, r"2 image\(s\) hold 9\.0 megapixels", id="budget"),
        pytest.param(20_000_000, InvalidImage, r"^instances\[0\]: could not decode", id="order"),
    ],
)
def test_the_budget_comes_first_then_errors_in_upload_order(
    budget: int, error: type[Exception], message: str
) -> None:
    uploads = {
        0: ("instances[0]: ", b"not an image"),
        1: ("instances[1]: ", declared_only(3000, 3000)),
    }
    with pytest.raises(error, match=message):
        decode(ImageDecoder(threads=1, max_request_pixels=budget), uploads)


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        pytest.param(40_000_000, r"1 image\(s\) hold 49\.0 megapixels together", id="request"),
        pytest.param(100_000_000, "image is 7000x7000 px", id="per image"),
    ],
)
def test_an_upload_over_the_per_image_limit_still_counts_toward_the_budget(
    budget: int, message: str
) -> None:
    uploads = {0: ("", declared_only(7000, 7000))}
    with pytest.raises(PayloadTooLarge, match=message):
        decode(ImageDecoder(threads=1, max_request_pixels=budget), uploads)


def test_errors_name_the_upload_that_failed() -> None:
    uploads = {0: ("instances[0]: ", b"not an image")}
    with pytest.raises(InvalidImage, match=r"^instances\[0\]: could not decode"):
        decode(ImageDecoder(threads=1, max_request_pixels=1_000_000), uploads)


def test_concurrent_uploads_queue_for_the_pool_instead_of_decoding_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    busy, most = 0, 0
    lock = threading.Lock()

    def slow_decode(image: Image.Image) -> np.ndarray:
        nonlocal busy, most
        with lock:
            busy += 1
            most = max(most, busy)
        time.sleep(0.02)  # the decode's own duration: what lets decodes overlap if they could
        with lock:
            busy -= 1
        return np.zeros((28, 28), np.uint8)

    monkeypatch.setattr(images, "image_to_mnist", slow_decode)
    decoder = ImageDecoder(threads=1, max_request_pixels=1_000_000)
    png = declared_only(64, 64)

    async def eight_requests() -> None:
        await asyncio.gather(*(decoder.decode({0: ("", png)}) for _ in range(8)))

    try:
        asyncio.run(eight_requests())
    finally:
        decoder.close()
    assert most == 1, f"{most} decodes ran at once with one decode thread"


@pytest.mark.parametrize(("side", "where"), [(100, "event loop"), (101, "pool")])
def test_small_uploads_decode_on_the_event_loop_and_larger_ones_in_the_pool(
    monkeypatch: pytest.MonkeyPatch, side: int, where: str
) -> None:
    threads: list[str] = []

    def record_thread(image: Image.Image) -> np.ndarray:
        threads.append(threading.current_thread().name)
        return np.zeros((28, 28), np.uint8)

    monkeypatch.setattr(images, "image_to_mnist", record_thread)
    decoder = ImageDecoder(threads=1, max_request_pixels=1_000_000, inline_pixels=100 * 100)
    decode(decoder, {0: ("", declared_only(side, side))})
    (thread,) = threads
    assert (thread == threading.main_thread().name) == (where == "event loop"), thread


def test_large_buffers_go_back_to_the_system_on_glibc() -> None:
    assert return_large_buffers(), "this project's machines run glibc"
