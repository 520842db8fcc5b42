"""The pictures a training run leaves beside its model and report: curves, confusion, samples."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: reports are written on servers and in CI
import matplotlib.pyplot as plt
import numpy as np


def plot_curves(history: dict[str, list[float]], path: Path) -> None:
    """Loss (and accuracy, when tracked) per epoch, training beside validation."""
    groups = [key for key in ("loss", "accuracy", "d_loss", "g_loss") if key in history]
    figure, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 3.5), squeeze=False)
    for axis, key in zip(axes[0], groups, strict=True):
        epochs = np.arange(1, len(history[key]) + 1)
        axis.plot(epochs, history[key], marker="o", label="train")
        if f"val_{key}" in history:
            axis.plot(epochs, history[f"val_{key}"], marker="o", label="validation")
        axis.set(title=key, xlabel="epoch")
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def plot_confusion(true: np.ndarray, predicted: np.ndarray, labels: list[str], path: Path) -> None:
    """Confusion matrix with counts in each cell."""
    size = len(labels)
    matrix = np.zeros((size, size), dtype=np.int64)
    np.add.at(matrix, (true, predicted), 1)
    figure, axis = plt.subplots(figsize=(1 + 0.6 * size, 1 + 0.6 * size))
    axis.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        axis.text(column, row, str(count), ha="center", va="center", fontsize=7, color=colour)
    axis.set(xticks=range(size), yticks=range(size), xticklabels=labels, yticklabels=labels)
    axis.set(xlabel="predicted", ylabel="true", title="test confusion matrix")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def plot_samples(pixels: np.ndarray, path: Path, columns: int = 10) -> None:
    """A grid of generated (N, 28, 28) uint8 digits."""
    rows = -(-len(pixels) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(columns, rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, image in zip(axes.flat, pixels, strict=False):
        axis.imshow(image, cmap="gray", vmin=0, vmax=255)
    figure.tight_layout(pad=0.1)
    figure.savefig(path, dpi=80)
    plt.close(figure)
