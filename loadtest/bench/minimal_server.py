"""The equal-resources ceiling: the least server that answers `/predict/digit` with the same CNN.

One process, FastAPI + orjson, onnxruntime called inline on the event loop with one intra-op
thread, no validation beyond what numpy does, no batching, no metrics, no access log. It is what
a careful engineer would write in an afternoon; `make serve` (one process, every feature on) is
measured against it with the same client in the same run.

    python -m loadtest.bench.minimal_server --models models --port 8100
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
import orjson
import uvicorn
from fastapi import FastAPI, Request, Response

from contract.metadata import ONNX_FILE
from contract.repository import read_metadata, version_dir, versions
from contract.tensors import model_inputs

MODEL = "digits-cnn"


def create_app(repository: Path) -> FastAPI:
    """The app: the newest digits-cnn version, loaded before the server listens."""
    folder = version_dir(repository, MODEL, versions(repository, MODEL)[-1])
    metadata = read_metadata(folder)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        str(folder / ONNX_FILE), options, providers=["CPUExecutionProvider"]
    )
    reference = {"model": MODEL, "model_version": metadata.version}

    async def predict_digit(request: Request) -> Response:
        pixels = np.asarray(orjson.loads(await request.body())["pixels"], dtype=np.uint8)
        (probabilities,) = session.run(None, model_inputs(metadata, pixels[np.newaxis]))[0]
        digit = int(probabilities.argmax())
        body = {"digit": digit, "confidence": float(probabilities[digit])}
        body |= {"probabilities": probabilities.tolist()} | reference
        return Response(orjson.dumps(body), media_type="application/json")

    async def readyz() -> Response:
        return Response(b'{"ready":true}', media_type="application/json")

    app = FastAPI(title="Minimal digit server")
    app.add_api_route("/predict/digit", predict_digit, methods=["POST"])
    app.add_api_route("/readyz", readyz, methods=["GET"])
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Serve it on loopback, access log off."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args(argv)
    app = create_app(args.models)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
