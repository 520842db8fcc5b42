"""`python -m loadtest.gpu`: prove the GPU path on a lent device in one prepared run.

  prepare  (here, `make gpu-bundle`) download the wheels the device lacks, split them into parts
           that fit one device call each, print the calls to make
  receive  (device) check one carried part and stash it in /tmp on the warm machine
  check    (device, `make gpu-check`) join and install the parts, then measure (below)
  measure  what `check` runs once installed: providers, the service's real provider per model,
           raw latency per provider, the service under load on GPU and CPU; writes
           gpu-results.json and gpu.md
  render   rebuild gpu.md from gpu-results.json

`receive` and `check` run on the device's bare python3, before pydantic or onnxruntime-gpu are
there: so this module imports only the standard library at the top, and each command imports
what it needs when it runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from loadtest.gpu import bundle, install

ROOT = Path(__file__).resolve().parents[2]
STASH = Path("/tmp/gpu-bundle")
SITE = Path("/tmp/gpu-site")
PROVIDERS = ("cpu", "cuda", "tensorrt")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status."""
    args = parse_args(argv)
    commands = {
        "prepare": _prepare,
        "receive": _receive,
        "check": _check,
        "measure": _measure,
        "render": _render,
    }
    return commands[args.command](args)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Every command's options."""
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.gpu",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_bundle_commands(commands)
    check = commands.add_parser("check", help="install the parts, then measure (device)")
    check.add_argument("--stash", type=Path, default=STASH)
    check.add_argument("--site", type=Path, default=SITE, help="where the wheels are installed")
    check.add_argument("--no-install", action="store_true", help="use this Python as it is")
    add_measure_options(check)
    add_measure_options(commands.add_parser("measure", help="measure (check runs this)"))
    render = commands.add_parser("render", help="rebuild the page from the JSON")
    render.add_argument("--results", type=Path, default=ROOT / "docs" / "gpu-results.json")
    render.add_argument("--page", type=Path, default=ROOT / "docs" / "gpu.md")
    return parser.parse_args(argv)


def add_bundle_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`prepare` (here) and `receive` (on the device)."""
    prepare = commands.add_parser("prepare", help="build the parts here")
    prepare.add_argument("--dir", type=Path, default=ROOT / ".gpu", help="ignored by git")
    prepare.add_argument("--data-dir", default=None, help="MNIST/IMDB folder for the inputs")
    prepare.add_argument("--python-version", default="3.12", help="the device's Python")
    prepare.add_argument("--part-mib", type=int, default=None, help="default: what fits a call")
    receive = commands.add_parser("receive", help="stash one carried part (device)")
    receive.add_argument("part", type=Path)
    receive.add_argument("--stash", type=Path, default=STASH)


def add_measure_options(parser: argparse.ArgumentParser) -> None:
    """What to measure, how long, and where the results go."""
    parser.add_argument("--repository", type=Path, default=ROOT / "models")
    parser.add_argument("--inputs", type=Path, default=None, help="default: synthetic")
    parser.add_argument("--providers", default="tensorrt,cuda,cpu", help="raw rows and GPU run")
    parser.add_argument("--seconds", type=float, default=1.0, help="per model, provider, batch")
    parser.add_argument("--bench-seconds", type=float, default=5.0, help="per route")
    parser.add_argument("--concurrency", type=int, default=16, help="connections per route")
    parser.add_argument("--client-processes", type=int, default=0, help="0: cores / 4, 1 to 4")
    parser.add_argument("--budget-s", type=float, default=330.0, help="the whole check's time box")
    parser.add_argument("--deadline", type=float, default=None, help="epoch seconds (internal)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--logs", type=Path, default=None, help="service logs; default: a tmp dir")


def _prepare(args: argparse.Namespace) -> int:
    from loadtest.gpu import prepare

    if not prepare.is_ignored(ROOT, args.dir):
        print(f"warning: git does not ignore {args.dir}: every device call would send it all")
    calls = prepare.prepare(args.dir, args.data_dir, args.python_version, args.part_mib)
    text = prepare.describe_calls(calls)
    (args.dir / "calls.txt").write_text(text + "\n")
    print(text)
    return 0


def _receive(args: argparse.Namespace) -> int:
    try:
        absent = bundle.receive(args.part, args.stash)
    except bundle.BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    total = len(bundle.Manifest.read(args.stash).chunks)
    gaps = f"missing {len(absent)}: {' '.join(absent)}" if absent else "complete: run check"
    print(f"{args.part}: ok; {args.stash} holds {total - len(absent)} of {total} chunks, {gaps}")
    return 0


def _check(args: argparse.Namespace) -> int:
    deadline = time.time() + args.budget_s
    site, inputs = None, args.inputs
    if not args.no_install:
        try:
            unpacked = install.join_and_install(args.stash, args.site)
        except (bundle.BundleError, FileNotFoundError) as exc:
            print(f"error: {exc}; carry the parts first (see calls.txt)", file=sys.stderr)
            return 1
        site, inputs = args.site, inputs or unpacked / "inputs.npz"
    forwarded = _measure_arguments(args, deadline, inputs)
    install.exec_measure(forwarded, install.measure_environment(site, os.environ))
    return 0  # not reached: exec_measure replaces this process


def _measure_arguments(args: argparse.Namespace, deadline: float, inputs: Path | None) -> list[str]:
    values = {
        "--repository": args.repository,
        "--providers": args.providers,
        "--seconds": args.seconds,
        "--bench-seconds": args.bench_seconds,
        "--concurrency": args.concurrency,
        "--client-processes": args.client_processes,
        "--budget-s": args.budget_s,
        "--deadline": deadline,
        "--out": args.out,
        "--inputs": inputs,
        "--logs": args.logs,
    }
    return [
        str(part) for key, value in values.items() if value is not None for part in (key, value)
    ]


def _measure(args: argparse.Namespace) -> int:
    from loadtest.gpu.measure import Plan, run
    from loadtest.gpu.schema import Options

    providers = [name.strip().lower() for name in args.providers.split(",") if name.strip()]
    if unknown := set(providers) - set(PROVIDERS):
        print(f"error: unknown providers {sorted(unknown)}; use {PROVIDERS}", file=sys.stderr)
        return 2
    options = Options(
        providers=providers,
        seconds=args.seconds,
        bench_seconds=args.bench_seconds,
        concurrency=args.concurrency,
        client_processes=args.client_processes or max(1, min(4, (os.cpu_count() or 1) // 4)),
        budget_s=args.budget_s,
        inputs="real sample" if args.inputs else "synthetic",
    )
    deadline = args.deadline or time.time() + args.budget_s
    logs = args.logs or Path(tempfile.mkdtemp(prefix="gpu-check-logs-"))
    plan = Plan(args.repository, args.inputs, args.out, logs, options, deadline)
    print(f"measuring for at most {plan.left():.0f} s; service logs in {logs}", flush=True)
    results = run(plan)
    return 0 if results.complete else 3


def _render(args: argparse.Namespace) -> int:
    from loadtest.gpu import page, schema

    results = schema.load(args.results)
    if found := schema.problems(results):
        print("inconsistent results: " + "; ".join(found), file=sys.stderr)
        return 1
    args.page.write_text(page.render(results))
    print(f"wrote {args.page}")
    return 0
