"""User-style drawings: an MNIST digit as dark ink on white paper, as people upload them."""

from __future__ import annotations

import numpy as np
import pytest

from loadtest.drawing import render_user_style
from tests.helpers.images import decoded


@pytest.fixture
def seven() -> np.ndarray:
    """A seven-like stroke: a top bar and a slanted stem, light ink on dark."""
    pixels = np.zeros((28, 28), dtype=np.uint8)
    pixels[6:9, 6:22] = 255
    for row in range(9, 24):
        pixels[row, 20 - (row - 9) // 2 : 23 - (row - 9) // 2] = 255
    return pixels


def test_render_user_style_draws_dark_ink_on_white_paper(seven: np.ndarray) -> None:
    page = np.asarray(decoded(render_user_style(seven, canvas=150, offset=(-5, 7))))
    assert page.shape == (150, 150)
    assert page[0, 0] == 255, "the paper is white"
    assert page.min() < 20, "the ink is dark"


def test_render_user_style_refuses_a_digit_that_falls_off_the_canvas(seven: np.ndarray) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        render_user_style(seven, canvas=200, scale=4.0, offset=(60, 0))
