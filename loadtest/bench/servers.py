"""The servers the bench starts, each with its settings and the targets driven against it."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from contract.repository import read_metadata, version_dir, versions
from loadtest import server
from service.settings import Settings

# The CPU overlay of deploy/k8s: one server process per core, one onnxruntime thread each.
CPU_PRESET = {"providers": "cpu", "intra_op_threads": 1, "log_level": "info", "log_format": "json"}
GPU_PRESET = {"workers": 1, "log_level": "info", "log_format": "json"}


SERVICE_TARGETS = ("digit-pixels", "digit-png", "sentiment", "generate", "generate-json")


@dataclass(frozen=True)
class ServerSpec:
    """A server to start and the targets to drive against it."""

    name: str
    command: tuple[str, ...]
    env: dict[str, str]
    targets: tuple[str, ...]


def service_settings(args: argparse.Namespace, **extra: object) -> dict[str, object]:
    """Production settings of the preset, then --server-env, then `extra`."""
    preset = CPU_PRESET | {"workers": args.workers} if args.preset == "cpu" else GPU_PRESET
    overrides = dict(item.split("=", 1) for item in args.server_env)
    return (
        dict(preset) | {k.lower().removeprefix("serving_"): v for k, v in overrides.items()} | extra
    )


def server_specs(args: argparse.Namespace, port: int) -> list[ServerSpec]:
    """The servers of the selected sections, in the order they run."""

    def env(**extra: object) -> dict[str, str]:
        return server.service_env(args.models, port, **service_settings(args, **extra))

    service_targets = SERVICE_TARGETS if "service" in args.only else ()
    specs = [
        ServerSpec("noop", (sys.executable, "-m", "loadtest.bench.noop_app"), env(), ("noop",)),
        ServerSpec("service", server.SERVICE_COMMAND, env(), service_targets),
        ServerSpec("unbatched", server.SERVICE_COMMAND, env(max_batch_rows=1),
                   ("digit-pixels", "sentiment")),
        # What `make serve` gives a newcomer: one process, every setting at its default.
        ServerSpec("defaults", server.SERVICE_COMMAND,
                   server.service_env(args.models, port), ("digit-pixels",)),
        ServerSpec("minimal", (sys.executable, "-m", "loadtest.bench.minimal_server",
                               "--models", str(args.models), "--port", str(port)),
                   {}, ("digit-pixels",)),
        ServerSpec("keras", (sys.executable, "-m", "loadtest.bench.keras_server",
                             "--artifacts", str(args.artifacts), "--port", str(port)),
                   {"TF_CPP_MIN_LOG_LEVEL": "3"}, ("digit-pixels", "sentiment")),
    ]  # fmt: skip
    # perf_analyzer and the overload run need the service up even without its own targets.
    wanted = args.only | ({"service"} if args.only & {"perf_analyzer", "overload"} else set())
    return [spec for spec in specs if spec.name in wanted]


def overload_level(args: argparse.Namespace) -> int:
    """Twice the requests the service can hold before it sheds: every worker's queue + batch."""
    if args.overload_concurrency:
        return int(args.overload_concurrency)
    settings = Settings.model_validate(service_settings(args))  # what the service will read
    folder = version_dir(args.models, "digits-cnn", versions(args.models, "digits-cnn")[-1])
    batch = read_metadata(folder).batching.max_batch_size
    return 2 * settings.workers * (settings.queue_capacity + batch)
