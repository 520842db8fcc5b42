"""`python -m export <model>|all [--artifacts DIR] [--repository DIR] [--fp16] [--int8] ...`"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from training.config import MODELS
from training.data import DATA_DIR_ENV, DataError, resolve_data_dir


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m export", description=__doc__)
    parser.add_argument("model", choices=[*MODELS, "all"], help="model to export, or all")
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
        "--tensorrt",
        action="store_true",
        help="pre-build TensorRT engines where TensorRT is installed",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Export each requested model; stop at the first that fails its checks."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # Imported after parsing so that `--help` answers without loading TensorFlow.
    from export.lint import ExportLintError
    from export.parity import ParityError
    from export.pipeline import ExportRequest, export

    precisions = tuple(p for p, wanted in (("fp16", args.fp16), ("int8", args.int8)) if wanted)
    names = list(MODELS) if args.model == "all" else [args.model]
    for name in names:
        request = ExportRequest(
            name,
            args.artifacts,
            args.repository,
            resolve_data_dir(args.data_dir),
            args.version,
            args.opset,
            precisions,
            args.tensorrt,
        )
        try:
            metadata = export(request)
        except (ExportLintError, ParityError, DataError, FileNotFoundError) as error:
            print(f"error: {name} was not exported: {error}", file=sys.stderr)
            return 2
        parity = metadata.parity
        print(
            f"{name}: max |Δ| {parity.max_abs_diff:.2e}, onnx accuracy {parity.onnx_accuracy}, "
            f"variants {[(v.precision, v.accuracy_delta, v.kept) for v in metadata.variants]} "
            f"→ {request.target}"
        )
    return 0
