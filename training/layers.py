"""Our custom Keras layers, and loading a saved model that may hold them.

Export loads trained models through `load_model` here, so it needs this module and nothing else of
training's to deserialise a `model.keras`.
"""

from __future__ import annotations

from pathlib import Path

import keras
from keras import layers, ops


# The "sentiment" package is part of the name saved in every `model.keras`: keep it, or
# Transformers trained before this module existed no longer load.
@keras.saving.register_keras_serializable(package="sentiment")
class TokenAndPositionEmbedding(layers.Layer):
    """Word embedding plus a learned embedding of each position."""

    def __init__(self, sequence_length: int, vocabulary_size: int, dim: int, **kwargs: object):
        super().__init__(**kwargs)
        self.sequence_length, self.vocabulary_size, self.dim = sequence_length, vocabulary_size, dim
        self.tokens = layers.Embedding(vocabulary_size, dim)
        self.positions = layers.Embedding(sequence_length, dim)

    def call(self, token_ids: keras.KerasTensor) -> keras.KerasTensor:
        return self.tokens(token_ids) + self.positions(ops.arange(self.sequence_length))

    def get_config(self) -> dict[str, object]:
        return {
            **super().get_config(),
            "sequence_length": self.sequence_length,
            "vocabulary_size": self.vocabulary_size,
            "dim": self.dim,
        }


def load_model(path: Path) -> keras.Model:
    """Load a `model.keras` written by training; the custom layers above are registered."""
    return keras.models.load_model(path)
