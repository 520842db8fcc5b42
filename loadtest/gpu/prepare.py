"""`prepare` (here, with PyPI): the bundle's parts, sized to the device's per-call limit, and the
exact sequence of device calls that carries them and then measures.

Every call sends the whole working tree (the shipped models alone are ~35 MiB) plus what it
carries, 64 MiB at most together; so the part size is what the tree leaves free, less a margin
for files others add before the calls are made.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from loadtest.gpu import bundle, wheels
from loadtest.gpu.inputs import INPUTS_FILE, sample_inputs, save_inputs

ROOT = Path(__file__).resolve().parents[2]
MIB = 1 << 20
CALL_LIMIT_BYTES = 64 * MIB
MARGIN_BYTES = 4 * MIB
MIN_PART_BYTES = 4 * MIB
STASH = "/tmp/gpu-bundle"
PART_TIMEOUT_S = 120
# The check's own time box, the hard-stop grace and the install, with room to spare.
CHECK_TIMEOUT_S = 480


@dataclass(frozen=True)
class DeviceCall:
    """One call of the device tool: its command, carry list and timeout."""

    command: str
    carry: tuple[str, ...]
    timeout_s: int


def travelling_bytes(root: Path, bundle_dir: Path) -> int:
    """Bytes every device call sends from `root`: tracked and untracked-not-ignored files.

    The bundle folder itself is left out: it must be ignored (see `is_ignored`) to travel only
    as carried parts.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout
    paths = (root / os.fsdecode(name) for name in listed.split(b"\0") if name)
    inside = bundle_dir.resolve()
    return sum(
        path.stat().st_size
        for path in paths
        if path.is_file() and not path.resolve().is_relative_to(inside)
    )


def part_bytes(tree_bytes: int) -> int:
    """The largest part that still fits one call beside the working tree (whole MiB)."""
    free = (CALL_LIMIT_BYTES - tree_bytes - MARGIN_BYTES) // MIB * MIB
    if free < MIN_PART_BYTES:
        raise RuntimeError(
            f"the working tree is {tree_bytes / MIB:.1f} MiB: parts would be "
            f"{free / MIB:.0f} MiB (under {MIN_PART_BYTES // MIB}); ignore or remove large files"
        )
    return free


def is_ignored(root: Path, folder: Path) -> bool:
    """Whether `folder` stays home: outside the checkout, or ignored by git (else its parts
    would travel with every call)."""
    if not folder.resolve().is_relative_to(root.resolve()):
        return True
    done = subprocess.run(
        ["git", "check-ignore", "-q", f"{folder.resolve().relative_to(root.resolve())}/"],
        cwd=root,
        check=False,
    )
    return done.returncode == 0


def prepare(
    out: Path, data_dir: str | None, python_version: str, part_mib: int | None
) -> list[DeviceCall]:
    """Download the wheels, sample the inputs, pack and split; the device calls to make."""
    pins = wheels.to_carry(
        wheels.serving_closure(wheels.project_requirements(ROOT / "pyproject.toml"), python_version)
    )
    print(f"carrying {len(pins)} wheels: " + ", ".join(f"{n}=={v}" for n, v in pins.items()))
    files = {f"wheels/{w.name}": w for w in wheels.download(pins, out / "wheels", python_version)}
    save_inputs(sample_inputs(data_dir), out / INPUTS_FILE)
    files[INPUTS_FILE] = out / INPUTS_FILE
    tree = travelling_bytes(ROOT, out)
    size = part_mib * MIB if part_mib else part_bytes(tree)
    manifest = bundle.pack(files, out, size)
    print(
        f"bundle: {manifest.size / MIB:.1f} MiB in {len(manifest.chunks)} parts of at most "
        f"{size / MIB:.0f} MiB; the working tree adds {tree / MIB:.1f} MiB to every call"
    )
    return device_calls(out, len(manifest.chunks))


def device_calls(out: Path, parts: int) -> list[DeviceCall]:
    """One call per part (the last one also measures), in order, back to back."""
    relative = out.resolve().relative_to(ROOT) if out.resolve().is_relative_to(ROOT) else out
    receive = [f"python3 -m loadtest.gpu receive {relative}/part-{i}" for i in range(1, parts + 1)]
    check = (
        "set -o pipefail; PYTHONUNBUFFERED=1 python3 -m loadtest.gpu check --out $OUT "
        "--logs $OUT 2>&1 | tee $OUT/gpu-check.log"
    )
    calls = [
        DeviceCall(command, (f"{relative}/part-{i}",), PART_TIMEOUT_S)
        for i, command in enumerate(receive[:-1], start=1)
    ]
    last = (f"{relative}/part-{parts}",)
    return [*calls, DeviceCall(f"{receive[-1]} && {{ {check}; }}", last, CHECK_TIMEOUT_S)]


def describe_calls(calls: list[DeviceCall]) -> str:
    """The calls as text to follow (also saved beside the parts as calls.txt)."""
    lines = [
        f"{len(calls)} device calls, back to back (a machine idle for 30 s is given back, and "
        f"its {STASH} with it: then start again from call 1).",
    ]
    for i, call in enumerate(calls, start=1):
        lines += [
            f"\ncall {i}/{len(calls)}: timeout_s={call.timeout_s} carry={list(call.carry)}",
            f"  command: {call.command}",
        ]
    lines.append(
        "\nThen copy gpu-results.json and gpu.md from the last call's files into docs/; "
        "a failed last call can be rerun alone while the machine is warm."
    )
    return "\n".join(lines)
