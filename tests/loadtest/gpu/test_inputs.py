"""The inputs that travel: 64 real digits and reviews, saved without pickle, read back equal."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from loadtest.gpu.inputs import SAMPLES, load_inputs, sample_inputs, save_inputs, synthetic_inputs


def test_inputs_read_back_as_saved(tmp_path: Path) -> None:
    saved = synthetic_inputs()
    save_inputs(saved, tmp_path / "inputs.npz")
    loaded = load_inputs(tmp_path / "inputs.npz")
    np.testing.assert_array_equal(loaded.images, saved.images)
    assert loaded.texts == saved.texts


def test_the_real_sample_is_64_test_digits_and_reviews(data_dir: Path) -> None:
    sample = sample_inputs(data_dir)
    assert sample.images.shape == (SAMPLES, 28, 28)
    assert sample.images.dtype == np.uint8
    assert len(sample.texts) == SAMPLES
    assert all(sample.texts)
