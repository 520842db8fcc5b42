"""Which GAN epoch is kept: the one missing the fewest targets, then with the lowest FID."""

from __future__ import annotations

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from training import gan_quality
from training.config import GanConfig
from training.gan_quality import KeepBestEpoch, missed_targets


def dcgan(confidence: float, max_share: float, fid: float) -> dict[str, float]:
    return {
        "mean_confidence": confidence,
        "min_class_fraction": 0.06,
        "max_class_fraction": max_share,
        "fid_cnn_features": fid,
    }


def test_missed_targets_name_each_one() -> None:
    assert missed_targets(dcgan(0.95, 0.14, 30.0)) == []
    assert missed_targets(dcgan(0.85, 0.175, 30.0)) == ["mean_confidence", "max_class_fraction"]
    conditional = dcgan(0.5, 0.5, 30.0) | {"requested_digit_accuracy": 0.941}
    assert missed_targets(conditional) == ["requested_digit_accuracy"]
    assert missed_targets(conditional | {"requested_digit_accuracy": 0.962}) == []


def test_the_best_judged_epoch_is_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    # Epoch 1 is not judged; 2 misses a target with the best FID; 3 meets all; 4 too, worse FID.
    scripted = iter([dcgan(0.95, 0.20, 10.0), dcgan(0.95, 0.14, 30.0), dcgan(0.95, 0.14, 40.0)])
    monkeypatch.setattr(gan_quality, "measure", lambda *_: next(scripted))
    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    keep_best = KeepBestEpoch(GanConfig(conditional=False), keras.Sequential(), np.zeros(1), 2)
    keep_best.set_model(SimpleNamespace(generator=generator))
    for epoch in range(4):
        generator.set_weights([np.full_like(w, epoch + 1) for w in generator.get_weights()])
        keep_best.on_epoch_end(epoch)
    keep_best.on_train_end()
    assert keep_best.best_epoch == 3
    assert [judged.epoch for judged in keep_best.judged] == [2, 3, 4]
    assert all(np.all(w == 3) for w in generator.get_weights()), "epoch 3's weights are back"
