"""The tutorials' way to serve a Keras model, as the baseline the service is measured against.

FastAPI + pydantic request models + `model.predict` on each request, one request at a time per
call, straight from the trained `.keras` files. Same request and response shapes as the service's
`/predict/digit` (pixels JSON) and `/sentiment`, so one load generator drives both.

    python -m loadtest.bench.keras_server --artifacts artifacts --port 8100
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from pydantic import BaseModel, Field

from contract.text import Vocabulary, encode_batch

DIGITS = "digits-cnn"
SENTIMENT = "sentiment-lstm"
VERSION = "keras"


class PixelsRequest(BaseModel):
    """28 rows of 28 pixel values, 0–255, light ink on dark."""

    pixels: list[list[float]] = Field(min_length=28, max_length=28)


class TextRequest(BaseModel):
    """One review."""

    text: str = Field(min_length=1)


class DigitResponse(BaseModel):
    """The service's DigitPrediction shape."""

    digit: int
    confidence: float
    probabilities: list[float]
    model: str
    model_version: str


class SentimentResponse(BaseModel):
    """The service's SentimentPrediction shape."""

    label: str
    score: float
    model: str
    model_version: str


def create_app(artifacts: Path) -> FastAPI:
    """The baseline app; loads both Keras models (and TensorFlow) in its lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import keras  # TensorFlow starts here, not at import: `--help` stays instant

        app.state.models = {
            name: keras.models.load_model(artifacts / name / "model.keras")
            for name in (DIGITS, SENTIMENT)
        }
        app.state.vocabulary = Vocabulary.load(artifacts / SENTIMENT / "vocab.txt")
        for model in app.state.models.values():  # build predict functions before any request
            model.predict(np.zeros((1, *model.input_shape[1:]), model.inputs[0].dtype), verbose=0)
        yield

    app = FastAPI(title="Keras baseline", lifespan=lifespan)
    # Plain `def` routes: FastAPI runs them in its thread pool, as the tutorials do for blocking
    # model calls.
    app.add_api_route("/predict/digit", predict_digit, methods=["POST"])
    app.add_api_route("/sentiment", sentiment, methods=["POST"])
    app.add_api_route("/readyz", readyz, methods=["GET"])
    return app


def predict_digit(body: PixelsRequest, request: Request) -> DigitResponse:
    """Classify one digit with `model.predict`."""
    pixels = np.asarray(body.pixels, dtype=np.float32).reshape(1, 28, 28, 1) / 255.0
    probabilities = request.app.state.models[DIGITS].predict(pixels, verbose=0)[0]
    digit = int(np.argmax(probabilities))
    return DigitResponse(
        digit=digit,
        confidence=float(probabilities[digit]),
        probabilities=probabilities.tolist(),
        model=DIGITS,
        model_version=VERSION,
    )


def sentiment(body: TextRequest, request: Request) -> SentimentResponse:
    """Score one review with `model.predict`."""
    model = request.app.state.models[SENTIMENT]
    tokens = encode_batch(request.app.state.vocabulary, [body.text], model.input_shape[1])
    score = float(model.predict(tokens, verbose=0)[0, 0])
    label = "positive" if score >= 0.5 else "negative"
    return SentimentResponse(label=label, score=score, model=SENTIMENT, model_version=VERSION)


def readyz() -> dict[str, Any]:
    """Ready: the lifespan has loaded both models before the server accepts connections."""
    return {"ready": True}


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the baseline."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    uvicorn.run(create_app(args.artifacts), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
