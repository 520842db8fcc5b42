"""Text standardisation and the word vocabulary: the one tokenizer that training and serving share.

Pure Python and numpy on purpose: the service imports this module, and the serving image has no
TensorFlow. Training tokenises with exactly this code, so token ids match by construction.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

PAD_ID = 0
OOV_ID = 1
PAD_TOKEN = "[PAD]"
OOV_TOKEN = "[UNK]"

_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
# Everything that is not a letter, digit, apostrophe or whitespace is punctuation to us; \w is
# Unicode-aware, so accented words ("café") survive as one token.
_PUNCTUATION = re.compile(r"[^\w\s']|_")
_EDGE_APOSTROPHES = re.compile(r"(?<!\w)'|'(?!\w)")

STANDARDISATION_RULES = (
    "lower-case",
    "replace HTML line breaks (<br />) with a space",
    "replace every character that is not a letter, digit, apostrophe or whitespace with a space",
    "drop apostrophes that do not sit inside a word",
    "split on whitespace",
)


def standardize(text: str) -> str:
    """Lower-case, strip HTML line breaks and punctuation, collapse whitespace."""
    text = _HTML_BREAK.sub(" ", text.lower())
    text = _PUNCTUATION.sub(" ", text)
    text = _EDGE_APOSTROPHES.sub(" ", text)
    return " ".join(text.split())


def words(text: str) -> list[str]:
    """The standardised words of `text`, in order."""
    return standardize(text).split()


class Vocabulary:
    """Word ↔ id table. Id 0 pads, id 1 stands for every word outside the vocabulary."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self.tokens = tuple(tokens)
        self._ids = {token: i for i, token in enumerate(self.tokens)}

    @classmethod
    def build(cls, texts: Iterable[str], size: int) -> Vocabulary:
        """Keep the `size - 2` most frequent words; ties break alphabetically (reproducible)."""
        counts = Counter(word for text in texts for word in words(text))
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        kept = [word for word, _ in ranked[: size - 2]]
        return cls((PAD_TOKEN, OOV_TOKEN, *kept))

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        """Read a vocabulary written by `save` (one token a line, line number = id)."""
        return cls(tuple(path.read_text(encoding="utf-8").split("\n")))

    def save(self, path: Path) -> str:
        """Write one token a line and return the file's sha256."""
        path.write_text("\n".join(self.tokens), encoding="utf-8")
        return hashlib.sha256(path.read_bytes()).hexdigest()

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        """Token ids of every word of `text`, unknown words as OOV_ID."""
        ids = self._ids
        return [ids.get(word, OOV_ID) for word in words(text)]


def pad_sequences(sequences: Iterable[list[int]], length: int) -> np.ndarray:
    """(N, length) int64: keep the last `length` ids, pad with zeros at the start.

    Padding in front means a recurrent layer's final state is computed on real tokens, which is
    what lets us drop masking (masked RNNs export to a slow ONNX Loop). Keeping the tail follows
    Keras' `pad_sequences` default, and reviews tend to end on their verdict.
    """
    rows = list(sequences)
    batch = np.zeros((len(rows), length), dtype=np.int64)
    for i, ids in enumerate(rows):
        tail = ids[-length:]
        if tail:
            batch[i, length - len(tail) :] = tail
    return batch


def encode_batch(vocabulary: Vocabulary, texts: Iterable[str], length: int) -> np.ndarray:
    """(N, length) int64 token ids, exactly as the sentiment models saw them in training."""
    return pad_sequences((vocabulary.encode(text) for text in texts), length)
