"""The pictures beside a trained model are real PNGs, whatever the model family tracked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training import plots

PNG = b"\x89PNG"


@pytest.mark.parametrize(
    "history",
    [
        {"loss": [0.9, 0.5], "val_loss": [1.0, 0.7], "accuracy": [0.6, 0.8]},
        {"d_loss": [1.3, 1.2], "g_loss": [0.8, 0.9]},  # a GAN tracks no validation
    ],
    ids=["classifier", "gan"],
)
def test_curves_are_drawn(history: dict[str, list[float]], tmp_path: Path) -> None:
    plots.plot_curves(history, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:4] == PNG


def test_a_confusion_matrix_and_a_sample_grid_are_drawn(tmp_path: Path) -> None:
    labels = np.array([0, 1, 1, 0])
    plots.plot_confusion(labels, labels[::-1], ["negative", "positive"], tmp_path / "c.png")
    plots.plot_samples(np.zeros((12, 28, 28), np.uint8), tmp_path / "s.png")
    assert [(tmp_path / f).read_bytes()[:4] for f in ("c.png", "s.png")] == [PNG, PNG]
