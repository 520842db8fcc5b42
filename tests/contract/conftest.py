"""Real MNIST test digits for the contract's image tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.data import load_mnist

SEVEN = 0  # x_test[0] is a 7: no rotation or mirror of it looks like itself


@pytest.fixture(scope="module")
def digits(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The first 1,000 real MNIST test digits and their labels."""
    mnist = load_mnist(data_dir)
    return mnist.x_test[:1000], mnist.y_test[:1000]


@pytest.fixture(scope="module")
def seven(digits: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return digits[0][SEVEN]
