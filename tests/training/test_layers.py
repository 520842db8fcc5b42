"""A saved model with our custom layers loads back through `training.layers` alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from training.config import SentimentConfig
from training.sentiment import build_transformer

ROOT = Path(__file__).resolve().parents[2]


def test_a_saved_transformer_loads_in_a_fresh_process(tmp_path: Path) -> None:
    config = SentimentConfig("transformer", vocabulary_size=50, sequence_length=8, embedding_dim=8)
    model = build_transformer(config)
    tokens = np.arange(16, dtype=np.int64).reshape(2, 8)
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "expected.npy", model.predict(tokens, verbose=0))
    # A fresh interpreter: only what training.layers registers is there, as in the export.
    probe = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from training.layers import load_model\n"
        f"folder = Path({str(tmp_path)!r})\n"
        "model = load_model(folder / 'model.keras')\n"
        "tokens = np.arange(16, dtype=np.int64).reshape(2, 8)\n"
        "actual = model.predict(tokens, verbose=0)\n"
        "np.testing.assert_allclose(actual, np.load(folder / 'expected.npy'), atol=1e-6)\n"
        "sys.exit('training.sentiment' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
