import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from contract.text import OOV_ID, PAD_ID, Vocabulary, encode_batch, pad_sequences, standardize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hello, World!", "hello world"),
        ("A great film.<br /><br />Really.", "a great film really"),
        ("Don't stop; it's 'fine'", "don't stop it's fine"),
        ("Café   déjà-vu", "café déjà vu"),
        ("tabs\tand\nnewlines", "tabs and newlines"),
        ("snake_case and 10/10", "snake case and 10 10"),
        ("", ""),
    ],
)
def test_standardize(raw: str, expected: str) -> None:
    assert standardize(raw) == expected


def test_vocabulary_ranks_by_frequency_then_alphabet() -> None:
    vocabulary = Vocabulary.build(["b a b", "c a b"], size=4)
    assert vocabulary.tokens[2:] == ("b", "a")
    assert vocabulary.encode("b a c zzz") == [2, 3, OOV_ID, OOV_ID]


def test_pad_sequences_pads_in_front_and_keeps_the_tail() -> None:
    padded = pad_sequences([[5, 6], [1, 2, 3, 4, 5], []], length=3)
    np.testing.assert_array_equal(padded, [[PAD_ID, 5, 6], [3, 4, 5], [0, 0, 0]])
    assert padded.dtype == np.int64


def test_saved_vocabulary_reproduces_token_ids_on_real_reviews(
    data_dir: Path, tmp_path: Path
) -> None:
    with gzip.open(data_dir / "imdb.jsonl.gz", "rt", encoding="utf-8") as lines:
        reviews = [json.loads(next(lines))["text"] for _ in range(1000)]
    vocabulary = Vocabulary.build(reviews, size=2000)
    sha256 = vocabulary.save(tmp_path / "vocab.txt")
    reloaded = Vocabulary.load(tmp_path / "vocab.txt")
    assert len(sha256) == 64
    assert reloaded.tokens == vocabulary.tokens
    np.testing.assert_array_equal(
        encode_batch(reloaded, reviews, 200), encode_batch(vocabulary, reviews, 200)
    )
