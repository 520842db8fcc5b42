"""Sentiment: review texts → token ids with the training tokenizer → P(positive) per text."""

from __future__ import annotations

import asyncio

import numpy as np

from contract.tensors import model_inputs
from service.lifecycle import ModelVersion

Prediction = dict[str, object]
# Above this many characters per request, tokenising moves off the event loop (~1 ms per 10 kB).
THREAD_ABOVE_CHARS = 20_000


async def score(model: ModelVersion, texts: list[str]) -> list[Prediction]:
    """P(positive) and its label for each text, in order.

    Each text is tokenised whole and its last `sequence_length` tokens are kept, as in training.
    """
    metadata = model.metadata
    encode = (metadata, texts, model.vocabulary)
    if sum(map(len, texts)) > THREAD_ABOVE_CHARS:
        feeds = await asyncio.to_thread(model_inputs, *encode)
    else:
        feeds = model_inputs(*encode)  # tokens: (N, 200) int64
    outputs = await model.infer(feeds)
    scores = outputs[metadata.outputs[0].name].astype(np.float32).reshape(len(texts))
    negative, positive = metadata.labels[0], metadata.labels[-1]
    return [{"label": positive if p >= 0.5 else negative, "score": p} for p in scores]
