"""Sentiment: review texts → token ids with the training tokenizer → P(positive) per text."""

from __future__ import annotations

import asyncio

import numpy as np

from export.repository import TextPreprocessing
from service.registry import ModelVersion
from training.text import encode_batch

Prediction = dict[str, object]
# Above this many characters per request, tokenising moves off the event loop (~1 ms per 10 kB).
THREAD_ABOVE_CHARS = 20_000


async def score(model: ModelVersion, texts: list[str]) -> list[Prediction]:
    """P(positive) and its label for each text, in order.

    Each text is tokenised whole and its last `sequence_length` tokens are kept, as in training.
    """
    metadata = model.metadata
    preprocessing = metadata.preprocessing
    assert isinstance(preprocessing, TextPreprocessing), f"{model.name} is not a text model"
    encode = (model.vocabulary, texts, preprocessing.sequence_length)
    if sum(map(len, texts)) > THREAD_ABOVE_CHARS:
        tokens = await asyncio.to_thread(encode_batch, *encode)
    else:
        tokens = encode_batch(*encode)  # (N, 200) int64
    spec = metadata.inputs[0]
    outputs = await model.infer({spec.name: tokens.astype(spec.dtype)})
    scores = outputs[metadata.outputs[0].name].astype(np.float32).reshape(len(texts))
    negative, positive = metadata.labels[0], metadata.labels[-1]
    return [{"label": positive if p >= 0.5 else negative, "score": p} for p in scores]
