"""IMDB review sentiment: SimpleRNN, LSTM and a small Transformer encoder over word ids."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from contract.artifacts import VOCABULARY_FILE
from contract.metadata import Task, TextPreprocessing
from contract.text import STANDARDISATION_RULES, Vocabulary, encode_batch
from training.config import SEED, SentimentConfig
from training.data import Imdb
from training.layers import TokenAndPositionEmbedding

INPUT_NAME = "tokens"
OUTPUT_NAME = "positive_probability"
TASK: Task = "sentiment"
LABELS = ["negative", "positive"]


def _recurrent_head(config: SentimentConfig, recurrent: layers.Layer, name: str) -> keras.Model:
    # No mask_zero: masked recurrent layers export to a slow ONNX Loop. Pre-padding keeps the
    # final state on real tokens instead.
    inputs = keras.Input((config.sequence_length,), dtype="int64", name=INPUT_NAME)
    x = layers.Embedding(config.vocabulary_size, config.embedding_dim)(inputs)
    if config.embedding_dropout:
        x = layers.SpatialDropout1D(config.embedding_dropout)(x)
    x = recurrent(x)
    x = layers.Dense(32, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(1, activation="sigmoid", name=OUTPUT_NAME)(x)
    return keras.Model(inputs, outputs, name=name)


def build_rnn(config: SentimentConfig) -> keras.Model:
    """Embedding(10000, 128) → SimpleRNN 64 → Dense 32 → Dropout .2 → Dense 1 sigmoid."""
    rnn = layers.SimpleRNN(config.recurrent_units, dropout=config.recurrent_input_dropout)
    return _recurrent_head(config, rnn, "sentiment_rnn")


def build_lstm(config: SentimentConfig) -> keras.Model:
    """Embedding(10000, 128) → LSTM 64 → Dense 32 → Dropout .2 → Dense 1 sigmoid."""
    lstm = layers.LSTM(config.recurrent_units, dropout=config.recurrent_input_dropout)
    return _recurrent_head(config, lstm, "sentiment_lstm")


def build_transformer(config: SentimentConfig) -> keras.Model:
    """One Transformer encoder block over token + position embeddings, mean-pooled."""
    inputs = keras.Input((config.sequence_length,), dtype="int64", name=INPUT_NAME)
    x = TokenAndPositionEmbedding(
        config.sequence_length, config.vocabulary_size, config.embedding_dim
    )(inputs)
    attention = layers.MultiHeadAttention(
        num_heads=config.attention_heads, key_dim=config.embedding_dim // config.attention_heads
    )(x, x)
    x = layers.LayerNormalization(epsilon=1e-6)(x + layers.Dropout(0.1)(attention))
    feed_forward = layers.Dense(config.feed_forward_dim, activation="relu")(x)
    feed_forward = layers.Dense(config.embedding_dim)(feed_forward)
    x = layers.LayerNormalization(epsilon=1e-6)(x + layers.Dropout(0.1)(feed_forward))
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(32, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(1, activation="sigmoid", name=OUTPUT_NAME)(x)
    return keras.Model(inputs, outputs, name="sentiment_transformer")


BUILDERS = {"rnn": build_rnn, "lstm": build_lstm, "transformer": build_transformer}


def preprocessing(
    config: SentimentConfig, vocabulary: Vocabulary, vocabulary_sha256: str
) -> TextPreprocessing:
    """The serving contract of a model trained on `vocabulary` (saved as VOCABULARY_FILE)."""
    return TextPreprocessing(
        standardisation=list(STANDARDISATION_RULES),
        vocabulary_file=VOCABULARY_FILE,
        vocabulary_sha256=vocabulary_sha256,
        vocabulary_size=len(vocabulary),
        sequence_length=config.sequence_length,
    )


def _training_rows(
    config: SentimentConfig, data: Imdb, vocabulary: Vocabulary
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled (N, sequence_length) token ids and float32 labels."""
    # Shuffled: the file is sorted by label.
    order = np.random.default_rng(SEED).permutation(len(data.train_texts))
    if config.max_train_samples:
        order = order[: config.max_train_samples]
    texts = [data.train_texts[i] for i in order]
    tokens = encode_batch(vocabulary, texts, config.sequence_length)
    return tokens, data.train_labels[order].astype(np.float32)


def train(
    config: SentimentConfig,
    data: Imdb,
    vocabulary: Vocabulary,
    callbacks: list[keras.callbacks.Callback],
) -> tuple[keras.Model, keras.callbacks.History]:
    """Tokenise with the shared vocabulary, then build and fit one sentiment model."""
    tokens, labels = _training_rows(config, data, vocabulary)
    model = BUILDERS[config.architecture](config)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=1.0),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", patience=config.early_stopping_patience, restore_best_weights=True
    )
    history = model.fit(
        tokens,
        labels,
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_split=config.validation_split,
        callbacks=[early_stopping, *callbacks],
    )
    return model, history


def evaluate(
    model: keras.Model, config: SentimentConfig, data: Imdb, vocabulary: Vocabulary
) -> tuple[dict[str, float], np.ndarray]:
    """Test-set accuracy and loss over all 25,000 test reviews, and the predicted labels."""
    tokens = encode_batch(vocabulary, data.test_texts, config.sequence_length)
    scores = model.predict(tokens, batch_size=512, verbose=0)[:, 0]
    predicted = (scores >= 0.5).astype(np.int64)
    clipped = np.clip(scores, 1e-7, 1 - 1e-7)
    loss = -(data.test_labels * np.log(clipped) + (1 - data.test_labels) * np.log(1 - clipped))
    metrics = {
        "test_accuracy": float((predicted == data.test_labels).mean()),
        "test_loss": float(loss.mean()),
    }
    return metrics, predicted
