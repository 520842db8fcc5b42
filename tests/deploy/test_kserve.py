"""The KServe manifests: each validates strictly against KServe's CRDs and fits the project.

The schemas are KServe's own CRDs, `config/crd/full/serving.kserve.io_{servingruntimes,
inferenceservices}.yaml` at commit aaac4e294dae2c7b1aa1886447793f3aa1c30912 (master after
v0.20.0, the API of the 0.21 release), vendored unmodified and gzipped in `kserve_crds/`.
Validation is offline and strict, as `kubectl apply --validate=strict` is: a field the schema does
not name fails, where the API server would otherwise drop it silently.
"""

from __future__ import annotations

import copy
import gzip
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from service.app import create_app
from service.settings import Settings
from tests.helpers.dockerfile import Dockerfile

yaml = pytest.importorskip("yaml", reason="pyyaml is in the dev extra")
jsonschema = pytest.importorskip("jsonschema", reason="comes with kubernetes-validate (dev extra)")

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kserve"
CRDS = Path(__file__).resolve().parent / "kserve_crds"
CRD_FILES = {
    "ServingRuntime": "serving.kserve.io_servingruntimes.yaml.gz",
    "InferenceService": "serving.kserve.io_inferenceservices.yaml.gz",
}
# What the CRDs leave to the API server: `metadata` is `type: object` there.
METADATA_KEYS = {"name", "namespace", "labels", "annotations"}
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")  # KServe's webhook rule for names
PORT = 8000

Manifest = dict[str, Any]


def load(path: Path) -> Manifest:
    """One manifest file, which holds exactly one object."""
    (manifest,) = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert isinstance(manifest, dict), path.name
    return manifest


def manifests(kind: str) -> dict[str, Manifest]:
    """Every object of `kind` in deploy/kserve, by file name."""
    found = {path.name: load(path) for path in sorted(MANIFESTS.glob("*.yaml"))}
    return {name: m for name, m in found.items() if m["kind"] == kind}


RUNTIMES = manifests("ServingRuntime")
SERVICES = manifests("InferenceService")


@cache
def crd_version(kind: str) -> dict[str, Any]:
    """The served, stored version of `kind`'s vendored CRD."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the ISVC CRD is 2 MB of YAML
    crd = yaml.load(gzip.decompress((CRDS / CRD_FILES[kind]).read_bytes()), Loader=loader)
    (version,) = [v for v in crd["spec"]["versions"] if v["served"] and v["storage"]]
    return {"group": crd["spec"]["group"], **version}


def strict(schema: Any) -> Any:
    """The schema with unknown fields forbidden wherever it lists the known ones."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: strict(value) for key, value in schema.items()}
    lists_fields = "properties" in schema and "additionalProperties" not in schema
    if lists_fields and not schema.get("x-kubernetes-preserve-unknown-fields"):
        closed["additionalProperties"] = False
    return closed


@cache
def validator(kind: str) -> Any:
    """A validator of `kind` against its strict CRD schema."""
    schema = strict(crd_version(kind)["schema"]["openAPIV3Schema"])
    return jsonschema.Draft4Validator(schema)


def schema_errors(manifest: Manifest) -> list[str]:
    """What the CRD schema rejects in `manifest`, each with its path."""
    errors = validator(manifest["kind"]).iter_errors(manifest)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def server(runtime: Manifest) -> dict[str, Any]:
    """The runtime's container that KServe merges `predictor.model` into."""
    containers = runtime["spec"]["containers"]
    assert [c["name"] for c in containers] == ["kserve-container"]
    container: dict[str, Any] = containers[0]
    return container


def env(runtime: Manifest) -> dict[str, str]:
    """The container's environment variables."""
    return {item["name"]: item["value"] for item in server(runtime).get("env", [])}


def runtime_of(service: Manifest) -> Manifest:
    """The ServingRuntime in deploy/kserve that `service` names."""
    name = service["spec"]["predictor"]["model"]["runtime"]
    found = [r for r in RUNTIMES.values() if r["metadata"]["name"] == name]
    assert found, f"no ServingRuntime {name!r} in deploy/kserve"
    return found[0]


ALL = {**RUNTIMES, **SERVICES}


# ---- schema -------------------------------------------------------------------------------------


def test_deploy_kserve_has_a_runtime_per_image_and_three_services() -> None:
    assert sorted(RUNTIMES) == ["servingruntime-cpu.yaml", "servingruntime-gpu.yaml"]
    assert len(SERVICES) == 3, sorted(SERVICES)


@pytest.mark.parametrize("name", sorted(ALL))
def test_manifest_validates_strictly_against_the_kserve_crd(name: str) -> None:
    manifest = ALL[name]
    version = crd_version(manifest["kind"])
    assert manifest["apiVersion"] == f"{version['group']}/{version['name']}"
    assert not schema_errors(manifest), "\n".join(schema_errors(manifest))
    assert set(manifest["metadata"]) <= METADATA_KEYS, manifest["metadata"]
    assert DNS_1035.match(manifest["metadata"]["name"]), manifest["metadata"]["name"]


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        ("servingruntime-cpu.yaml", ("spec", "containers", 0, "readinesProbe"), {}),
        ("servingruntime-gpu.yaml", ("spec", "protocolVersion"), ["v2"]),
        ("inferenceservice-cpu.yaml", ("spec", "predictor", "model", "runtimeName"), "x"),
        ("inferenceservice-autoscaling.yaml", ("spec", "predictor", "scaleTarget"), "70"),
        ("inferenceservice-autoscaling.yaml", ("spec", "predictor", "scaleMetric"), "gpu"),
    ],
)
def test_a_misspelt_or_mistyped_field_fails(name: str, path: tuple[Any, ...], value: Any) -> None:
    manifest = copy.deepcopy(ALL[name])
    parent = manifest
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    assert schema_errors(manifest), f"{'.'.join(map(str, path))} = {value!r} was accepted"


# ---- the runtimes -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(RUNTIMES))
def test_runtime_serves_onnx_over_v2_on_the_image_port(name: str, dockerfile: Dockerfile) -> None:
    runtime = RUNTIMES[name]
    assert "onnx" in [f["name"] for f in runtime["spec"]["supportedModelFormats"]]
    assert runtime["spec"]["protocolVersions"] == ["v2"]
    # KServe's Service targets the first port; Knative accepts only the names http1 and h2c.
    first = server(runtime)["ports"][0]
    assert (first["name"], first["containerPort"]) == ("http1", PORT)
    for target in ("cpu", "gpu"):
        assert dockerfile.last(target, "EXPOSE") == str(PORT)
        assert dockerfile.env(target)["SERVING_PORT"] == str(PORT)


@pytest.mark.parametrize(
    ("probe", "path"),
    [
        ("readinessProbe", "/v2/health/ready"),
        ("livenessProbe", "/v2/health/live"),
        ("startupProbe", "/v2/health/live"),
    ],
)
@pytest.mark.parametrize("name", sorted(RUNTIMES))
def test_probes_ask_the_oip_health_endpoints(name: str, probe: str, path: str) -> None:
    get = server(RUNTIMES[name])[probe]["httpGet"]
    assert (get["path"], get["port"]) == (path, PORT)
    assert path in create_app(Settings()).openapi()["paths"], f"the app has no route {path}"


@pytest.mark.parametrize("name", sorted(RUNTIMES))
def test_runtime_sets_only_real_settings(name: str) -> None:
    # The service ignores unknown SERVING_* variables, so a typo here would pass silently.
    fields = {key.removeprefix("SERVING_").lower() for key in env(RUNTIMES[name])}
    assert all(key.startswith("SERVING_") for key in env(RUNTIMES[name]))
    assert fields <= set(Settings.model_fields), fields - set(Settings.model_fields)


@pytest.mark.parametrize("name", sorted(RUNTIMES))
def test_runtime_image_is_the_k8s_overlay_image(name: str) -> None:
    target = name.removeprefix("servingruntime-").removesuffix(".yaml")
    overlay = load(ROOT / "deploy" / "k8s" / "overlays" / target / "kustomization.yaml")
    (image,) = overlay["images"]
    assert server(RUNTIMES[name])["image"] == f"{image['newName']}:{image['newTag']}"
    assert image["newTag"].endswith(f"-{target}")


@pytest.mark.parametrize("name", sorted(RUNTIMES))
def test_runtime_runs_locked_down_as_the_image_user(name: str, dockerfile: Dockerfile) -> None:
    container = server(RUNTIMES[name])
    context = container["securityContext"]
    uid, _, gid = dockerfile.last("cpu", "USER").partition(":")
    assert context["runAsNonRoot"] is True
    assert (context["runAsUser"], context["runAsGroup"]) == (int(uid), int(gid))
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert "memory" in container["resources"]["limits"]
    volumes = {v["name"]: v for v in RUNTIMES[name]["spec"]["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert "/tmp" in mounts
    assert all("emptyDir" in volumes[volume] for volume in mounts.values()), "writable = emptyDir"


def test_cpu_runtime_has_whole_cores_for_its_workers() -> None:
    runtime = RUNTIMES["servingruntime-cpu.yaml"]
    resources, config = server(runtime)["resources"], env(runtime)
    assert resources["requests"] == resources["limits"], "Guaranteed QoS"
    assert "nvidia.com/gpu" not in resources["limits"]
    threads = int(config["SERVING_WORKERS"]) * int(config["SERVING_INTRA_OP_THREADS"])
    assert threads <= int(resources["limits"]["cpu"]), "more ORT threads than cores throttle"
    assert "SERVING_MODEL_REPOSITORY" not in config, "serves the models baked into the image"


def test_gpu_runtime_takes_one_gpu_trying_tensorrt_first() -> None:
    runtime = RUNTIMES["servingruntime-gpu.yaml"]
    assert server(runtime)["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert runtime["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    config = env(runtime)
    assert config["SERVING_PROVIDERS"] == "tensorrt,cuda,cpu"
    assert config["SERVING_REQUIRE_GPU"] == "true", "a GPU pod never serves on its CPU"
    assert config["SERVING_WORKERS"] == "1"


def test_gpu_service_serves_a_writable_copy_of_the_baked_models(dockerfile: Dockerfile) -> None:
    # TensorRT writes its engine cache beside each model; the image's copy is read-only.
    service = SERVICES["inferenceservice-gpu.yaml"]
    runtime = runtime_of(service)
    served = env(runtime)["SERVING_MODEL_REPOSITORY"]
    baked = dockerfile.env("gpu")["SERVING_MODEL_REPOSITORY"]
    (init,) = service["spec"]["predictor"]["initContainers"]
    assert init["image"] == server(runtime)["image"]
    assert init["command"] == ["cp", "-R", f"{baked}/.", f"{served}/"]
    assert {"mountPath": served, "name": "model-repository"} in init["volumeMounts"]
    assert {"mountPath": served, "name": "model-repository"} in server(runtime)["volumeMounts"]


# ---- the inference services ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_asks_for_a_runtime_that_serves_it(name: str) -> None:
    model = SERVICES[name]["spec"]["predictor"]["model"]
    runtime = runtime_of(SERVICES[name])
    formats = [f["name"] for f in runtime["spec"]["supportedModelFormats"]]
    assert model["modelFormat"]["name"] in formats
    assert model["protocolVersion"] == "v2"
    assert model["protocolVersion"] in runtime["spec"]["protocolVersions"]
    asks_for_gpu = "nvidia.com/gpu" in model.get("resources", {}).get("limits", {})
    assert asks_for_gpu == runtime["metadata"]["name"].endswith("-gpu")


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_grace_period_outlasts_prestop_and_drain(name: str) -> None:
    predictor = SERVICES[name]["spec"]["predictor"]
    pre_stop = server(runtime_of(SERVICES[name]))["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain_s = Settings.model_fields["drain_grace_s"].default
    drain_s += Settings.model_fields["drain_timeout_s"].default
    kill_at = predictor["terminationGracePeriodSeconds"]
    assert kill_at > pre_stop + drain_s, f"SIGKILL at {kill_at}s, before {pre_stop + drain_s}s"
    assert predictor["enableServiceLinks"] is False, "service links could shadow a setting"


def test_autoscaling_service_scales_on_cpu_with_an_hpa() -> None:
    service = SERVICES["inferenceservice-autoscaling.yaml"]
    predictor = service["spec"]["predictor"]
    assert service["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "hpa"
    assert (predictor["scaleMetric"], predictor["scaleMetricType"]) == ("cpu", "Utilization")
    assert 0 < predictor["scaleTarget"] <= 100
    assert 2 <= predictor["minReplicas"] <= predictor["maxReplicas"]
    cpu = server(runtime_of(service))["resources"]["requests"]
    assert "cpu" in cpu, "utilisation is of the request"
