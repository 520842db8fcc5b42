"""`python -m training <model>|all [--profile full|smoke] [--data-dir DIR] [--out DIR] ...`"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import get_args

from contract.artifacts import Profile
from training.config import MODELS, config_for
from training.data import DATA_DIR_ENV, DataError, resolve_data_dir

DEFAULT_ARTIFACTS = Path("artifacts")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("model", choices=[*MODELS, "all"], help="model to train, or all of them")
    parser.add_argument(
        "--profile",
        choices=get_args(Profile),
        default="full",
        help="full: the shipped models; smoke: a few hundred samples, one epoch",
    )
    parser.add_argument(
        "--data-dir",
        help=f"folder with mnist.npz / imdb.jsonl.gz "
        f"(default: ${DATA_DIR_ENV}, else download the public originals)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_ARTIFACTS,
        help="artifacts folder (default: %(default)s)",
    )
    parser.add_argument("--epochs", type=int, help="override the profile's epoch count")
    parser.add_argument("--tensorboard", action="store_true", help="write TensorBoard logs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Train the requested models in order; digits-cnn first, since GAN metrics need it."""
    args = parse_args(argv)
    # Imported after parsing so that `--help` and argument errors answer without TensorFlow.
    from training.runner import Run, train

    names = list(MODELS) if args.model == "all" else [args.model]
    for name in names:
        run = Run(
            name,
            config_for(name, args.profile, args.epochs),
            args.profile,
            resolve_data_dir(args.data_dir),
            args.out,
            args.tensorboard,
        )
        try:
            report = train(run)
        except (DataError, FileNotFoundError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"{name}: {report.metrics} in {report.duration_s} s → {run.folder}")
    return 0
