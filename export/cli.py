"""`python -m export <model>|all [--artifacts DIR] [--repository DIR] [--fp16] [--int8] ...`"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from contract.artifacts import trained_names
from training.data import DATA_DIR_ENV, DataError, resolve_data_dir

# The pipeline (and TensorFlow with it) is imported only once arguments parsed, so that `--help`
# and argument errors answer at once.
if TYPE_CHECKING:
    from export.pipeline import ExportRequest


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m export", description=__doc__)
    parser.add_argument("model", help="trained model to export, or all in --artifacts")
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=Path("artifacts"),
        help="training artifacts folder (default: %(default)s)",
    )
    parser.add_argument(
        "--repository",
        type=Path,
        default=Path("models"),
        help="model repository to write (default: %(default)s)",
    )
    parser.add_argument(
        "--data-dir", help=f"test data for parity (default: ${DATA_DIR_ENV}, else download)"
    )
    parser.add_argument("--version", default="1", help="version folder (default: %(default)s)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default: %(default)s)")
    parser.add_argument("--fp16", action="store_true", help="also write a verified fp16 variant")
    parser.add_argument("--int8", action="store_true", help="also write a verified int8 variant")
    parser.add_argument(
        "--tensorrt", action="store_true", help="pre-build TensorRT engines where installed"
    )
    return parser.parse_args(argv)


def _names(args: argparse.Namespace) -> list[str]:
    """The requested model, or every model with a training report in --artifacts."""
    return trained_names(args.artifacts) if args.model == "all" else [args.model]


def _request(name: str, args: argparse.Namespace) -> ExportRequest:
    from export.pipeline import ExportRequest

    precisions = tuple(p for p, wanted in (("fp16", args.fp16), ("int8", args.int8)) if wanted)
    return ExportRequest(
        name=name,
        artifacts=args.artifacts,
        repository=args.repository,
        data_dir=resolve_data_dir(args.data_dir),
        version=args.version,
        opset=args.opset,
        precisions=precisions,
        tensorrt=args.tensorrt,
    )


def _export(request: ExportRequest) -> bool:
    """Export one model and print what it measured; say why and return False if refused."""
    from export.lint import ExportLintError
    from export.parity import ParityError
    from export.pipeline import export

    try:
        metadata = export(request)
    except (ExportLintError, ParityError, DataError, FileNotFoundError, ValidationError) as error:
        print(f"error: {request.name} was not exported: {error}", file=sys.stderr)
        return False
    parity = metadata.parity
    print(
        f"{request.name}: max |Δ| {parity.max_abs_diff:.2e}, "
        f"onnx accuracy {parity.onnx_accuracy}, "
        f"variants {[(v.precision, v.accuracy_delta, v.kept) for v in metadata.variants]} "
        f"→ {request.target}"
    )
    return True


def main(argv: list[str] | None = None) -> int:
    """Export each requested model; stop at the first that fails its checks."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    names = _names(args)
    if not names:
        print(f"error: no training reports in {args.artifacts}; train first", file=sys.stderr)
        return 2
    for name in names:
        if not _export(_request(name, args)):
            return 2
    return 0
