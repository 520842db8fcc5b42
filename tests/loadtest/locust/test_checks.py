"""The response checks the locust users apply: valid bodies pass, each kind of damage is named."""

from __future__ import annotations

import re
import struct
import zlib

import orjson
import pytest

from loadtest.locust import checks

PROBABILITIES = [0.01] * 9 + [0.91]


def digit_body(**changes: object) -> bytes:
    body = {"digit": 9, "confidence": 0.91, "probabilities": PROBABILITIES}
    return orjson.dumps(body | {"model": "digits-cnn", "model_version": "1"} | changes)


def png(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + header
    return (
        checks.PNG_SIGNATURE + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )


def test_a_valid_digit_prediction_returns_its_digit() -> None:
    assert checks.digit_prediction(digit_body()) == 9


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"digit": 10}, "expected an int 0–9"),
        ({"digit": "9"}, "expected an int 0–9"),
        ({"digit": True}, "expected an int 0–9"),
        ({"probabilities": [0.1] * 9}, "expected 10 numbers"),
        ({"probabilities": [0.5] * 10}, "sum to"),
        ({"probabilities": [None] * 10}, "expected a number in [0, 1]"),
        ({"digit": 3, "confidence": 0.01}, "not the most probable"),
        ({"confidence": 0.5}, "is not probabilities[9]"),
        ({"model": ""}, "model is ''"),
    ],
)
def test_a_damaged_digit_prediction_is_named(changes: dict[str, object], complaint: str) -> None:
    with pytest.raises(checks.MalformedResponseError, match=re.escape(complaint)):
        checks.digit_prediction(digit_body(**changes))


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"[1, 2]", b""])
def test_a_body_that_is_not_a_json_object_is_malformed(body: bytes) -> None:
    with pytest.raises(checks.MalformedResponseError):
        checks.digit_prediction(body)


@pytest.mark.parametrize(("label", "score"), [("positive", 0.93), ("negative", 0.1)])
def test_a_consistent_sentiment_passes(label: str, score: float) -> None:
    body = orjson.dumps({"label": label, "score": score, "model": "m", "model_version": "1"})
    assert checks.sentiment_label(body) == label


@pytest.mark.parametrize(
    ("label", "score", "complaint"),
    [
        ("neutral", 0.5, "expected one of"),
        ("positive", 0.2, "disagrees"),
        ("negative", 1.5, "score"),
    ],
)
def test_an_inconsistent_sentiment_is_named(label: str, score: float, complaint: str) -> None:
    body = orjson.dumps({"label": label, "score": score, "model": "m", "model_version": "1"})
    with pytest.raises(checks.MalformedResponseError, match=complaint):
        checks.sentiment_label(body)


def test_png_size_reads_the_header_without_decoding() -> None:
    assert checks.png_size(png(118, 118)) == (118, 118)


@pytest.mark.parametrize("body", [b'{"images": []}', png(10, 10)])
def test_a_body_that_is_not_a_digit_png_is_malformed(body: bytes) -> None:
    with pytest.raises(checks.MalformedResponseError):
        checks.png_size(body)


def test_the_seed_header_must_echo_the_seed_sent() -> None:
    checks.seed_header("42", 42)
    with pytest.raises(checks.MalformedResponseError, match="X-Seed is None"):
        checks.seed_header(None, 42)
