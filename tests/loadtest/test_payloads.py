"""Payloads come from the real test splits, in every form the service accepts."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import orjson
import pytest

from contract.images import to_mnist
from loadtest import payloads
from loadtest.payloads import load_digits, load_reviews
from training.data import DATA_DIR_ENV


def test_digit_bodies_are_the_pixels_and_a_user_style_png(data_dir: Path) -> None:
    samples = load_digits(data_dir, 3)
    for sample in samples:
        pixels = np.asarray(orjson.loads(sample.pixels_json)["pixels"])
        assert pixels.shape == (28, 28)
        np.testing.assert_array_equal(pixels, sample.image)
        assert sample.png.startswith(b"\x89PNG")
        # The PNG is dark ink on white; the service's own decoding brings it back to MNIST.
        assert to_mnist(sample.png).shape == (28, 28)
    assert all(0 <= s.label <= 9 for s in samples)


def test_the_same_seed_gives_the_same_samples(data_dir: Path) -> None:
    first, again = (load_digits(data_dir, 4, with_png=False) for _ in range(2))
    assert [s.pixels_json for s in first] == [s.pixels_json for s in again]


def test_reviews_are_labelled_test_reviews(data_dir: Path) -> None:
    reviews = load_reviews(data_dir, 50)
    assert {r.label for r in reviews} == {"positive", "negative"}
    assert all(orjson.loads(r.body) == {"text": r.text} for r in reviews)


def test_a_folder_without_the_data_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="pass --data-dir"):
        payloads.data_dir(tmp_path)


def test_without_a_flag_the_training_data_variable_names_the_folder(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(data_dir))
    assert payloads.data_dir() == data_dir


def test_the_flag_wins_over_the_training_data_variable(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert payloads.data_dir(data_dir) == data_dir
    with pytest.raises(FileNotFoundError, match=re.escape(f"{tmp_path} lacks mnist.npz")):
        payloads.data_dir()
