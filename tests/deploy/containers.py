"""A container engine the image tests drive: Docker with the real bases, else podman with stand-ins.

Podman's settings are those this kind of CI machine needs (issue 12): runc (crun fails on its
cgroup set-up), open-file and process limits no higher than the host's, the host network, and
chroot isolation for builds. `--format docker` keeps the HEALTHCHECK, which OCI images drop.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAND_IN_BASES = ROOT / "deploy" / "docker" / "stand-in-bases.sh"
LIMITS = ("--ulimit", "nofile=4096:4096")
PODMAN_RUN = (*LIMITS, "--ulimit", "nproc=4096:4096", "--network", "host")
# First build of the train image downloads TensorFlow; later ones reuse uv's cache.
BUILD_TIMEOUT_S = 1800


@dataclass(frozen=True)
class Engine:
    """A container CLI and the options its builds and runs need on this machine."""

    name: str
    command: tuple[str, ...]
    build_options: tuple[str, ...]
    run_options: tuple[str, ...]
    bases: str  # how the base images were obtained, for the measurements

    def __call__(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run one engine command; on failure the assertion shows its output."""
        result = subprocess.run(
            [*self.command, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if check:
            output = (result.stdout + result.stderr)[-6000:]
            assert result.returncode == 0, f"{' '.join(args[:3])} failed: {output}"
        return result

    def build(self, target: str, tag: str) -> float:
        """Build one Dockerfile target of the working tree; the seconds it took."""
        started = time.monotonic()
        context = ("--target", target, "-t", tag, str(ROOT))
        self("build", *self.build_options, *context, timeout=BUILD_TIMEOUT_S)
        return time.monotonic() - started

    def image_id(self, tag: str) -> str | None:
        """The ID the tag names, or None when there is no such image."""
        found = self("image", "inspect", "--format", "{{.Id}}", tag, check=False)
        return found.stdout.strip() if found.returncode == 0 else None

    def image_bytes(self, tag: str) -> int:
        """The image's size as the engine reports it (uncompressed layers)."""
        return int(self("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip())

    def run_detached(self, tag: str, name: str, port: int, options: Sequence[str] = ()) -> None:
        """Start a container of `tag` serving on host port `port`."""
        publish = () if self.name == "podman" else ("-p", f"127.0.0.1:{port}:{port}")
        served = ("-e", f"SERVING_PORT={port}", *publish, *options)
        self("run", "-d", "--name", name, *self.run_options, *served, tag)

    def run_to_end(
        self, tag: str, options: Sequence[str], command: Sequence[str], timeout: float
    ) -> str:
        """Run a container of `tag` until it exits; its output, or a failure showing it."""
        return self(
            "run", "--rm", *self.run_options, *options, tag, *command, timeout=timeout
        ).stdout

    def healthcheck(self, name: str) -> subprocess.CompletedProcess[str]:
        """Run the container's own HEALTHCHECK command once, as the engine would."""
        if self.name == "podman":
            return self("healthcheck", "run", name, check=False)
        test = json.loads(
            self("inspect", "--format", "{{json .Config.Healthcheck.Test}}", name).stdout
        )
        assert test[0] == "CMD", f"a shell-form HEALTHCHECK: {test}"
        return self("exec", name, *test[1:], check=False)

    def remove(self, name: str) -> None:
        """Remove a container whatever its state."""
        self("rm", "--force", "--time", "0", name, check=False)


def find_engine() -> Engine | str:
    """The engine to use here, or why there is none."""
    if shutil.which("docker") and docker_has_bases():
        return Engine("docker", ("docker",), ("--progress", "plain"), (), "the real base images")
    if not shutil.which("podman"):
        return "no container engine: neither a Docker daemon nor podman (apt-get install podman)"
    if os.geteuid() != 0:
        return "podman runs only as root on this kind of machine; no Docker daemon either"
    made = subprocess.run(
        [str(STAND_IN_BASES)], capture_output=True, text=True, timeout=1200, check=False
    )
    if made.returncode != 0:
        return f"podman's stand-in bases could not be made: {made.stderr[-2000:]}"
    build_args = tuple(made.stdout.split())
    options = ("--isolation", "chroot", *LIMITS, "--format", "docker", *build_args)
    return Engine("podman", ("podman", "--runtime", "runc"), options, PODMAN_RUN, "stand-in bases")


def docker_has_bases() -> bool:
    """A Docker daemon answers and can pull the Dockerfile's default base images."""
    if subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode != 0:
        return False
    dockerfile = (ROOT / "Dockerfile").read_text()
    version = re.search(r"^ARG PYTHON_VERSION=(\S+)", dockerfile, re.M)
    uv_image = re.search(r"^ARG UV_IMAGE=(\S+)", dockerfile, re.M)
    assert version, "the Dockerfile names its Python version in an ARG line"
    assert uv_image, "the Dockerfile names its uv image in an ARG line"
    for image in (f"python:{version[1]}-slim", uv_image[1]):
        pulled = subprocess.run(["docker", "pull", "-q", image], capture_output=True, timeout=600)
        if pulled.returncode != 0:
            return False
    return True
