"""The Kubernetes overlays: each renders, validates against the API schemas and behaves.

Rendering needs `kubectl` (its built-in kustomize); validation uses the schemas shipped with
`kubernetes-validate`, offline.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from service.settings import Settings
from tests.helpers.dockerfile import Dockerfile

yaml = pytest.importorskip("yaml", reason="pyyaml is in the dev extra")

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ROOT / "deploy" / "k8s" / "overlays"
# Validated against this release and the newest whose schemas kubernetes-validate ships, so the
# manifests work on clusters that lag behind (1.32 is this machine's kubectl). They need >= 1.30
# for the preStop `sleep` action.
OLDEST_KUBERNETES = "1.32"
KINDS = {"ConfigMap", "Service", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget"}

Manifest = dict[str, Any]


def render(overlay: str) -> list[Manifest]:
    """`kubectl kustomize` of one overlay, as parsed objects."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not on PATH: the overlays are rendered with `kubectl kustomize`")
    command = [kubectl, "kustomize", str(OVERLAYS / overlay)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=["gpu", "cpu"])
def manifests(request: pytest.FixtureRequest) -> list[Manifest]:
    """Every object of one overlay."""
    return render(request.param)


@pytest.fixture(scope="module")
def gpu() -> list[Manifest]:
    """The GPU overlay."""
    return render("gpu")


@pytest.fixture(scope="module")
def cpu() -> list[Manifest]:
    """The CPU overlay."""
    return render("cpu")


def one(manifests: list[Manifest], kind: str) -> Manifest:
    """The only object of `kind`."""
    found = [m for m in manifests if m["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def pod(manifests: list[Manifest]) -> dict[str, Any]:
    """The Deployment's pod spec."""
    spec: dict[str, Any] = one(manifests, "Deployment")["spec"]["template"]["spec"]
    return spec


def server(manifests: list[Manifest]) -> dict[str, Any]:
    """The pod's one container."""
    containers = pod(manifests)["containers"]
    assert [c["name"] for c in containers] == ["server"]
    container: dict[str, Any] = containers[0]
    return container


def settings(manifests: list[Manifest]) -> dict[str, str]:
    """The SERVING_* variables of the generated ConfigMap."""
    data: dict[str, str] = one(manifests, "ConfigMap")["data"]
    return data


# ---- schema -------------------------------------------------------------------------------------


def test_overlay_renders_the_serving_objects(manifests: list[Manifest]) -> None:
    assert sorted(m["kind"] for m in manifests) == sorted(KINDS)


@pytest.mark.parametrize("version", [OLDEST_KUBERNETES, "latest"])
def test_every_object_validates_against_the_kubernetes_schemas(
    manifests: list[Manifest], version: str
) -> None:
    validator = pytest.importorskip("kubernetes_validate", reason="in the dev extra")
    version = validator.latest_version() if version == "latest" else version
    for manifest in manifests:
        name = f"{manifest['kind']}/{manifest['metadata']['name']}"
        try:
            validator.validate(manifest, version, strict=True)
        except validator.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            pytest.fail(f"{name} is invalid at {path}: {error.message}")


# ---- probes, shutdown, settings -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("probe", "path"),
    [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz"), ("startupProbe", "/healthz")],
)
def test_probes_ask_the_server_health_endpoints(
    manifests: list[Manifest], probe: str, path: str
) -> None:
    get = server(manifests)[probe]["httpGet"]
    assert get["path"] == path
    ports = {p["name"]: p["containerPort"] for p in server(manifests)["ports"]}
    assert ports[get["port"]] == int(settings(manifests)["SERVING_PORT"])


def field_name(variable: str) -> str:
    """The Settings field a SERVING_* variable sets."""
    return variable.removeprefix("SERVING_").lower()


def setting(manifests: list[Manifest], variable: str) -> str:
    """A setting as the server sees it: the ConfigMap's value, else the Settings default."""
    default = Settings.model_fields[field_name(variable)].default
    return str(settings(manifests).get(variable, default))


def test_grace_period_outlasts_prestop_and_drain(manifests: list[Manifest]) -> None:
    pre_stop = server(manifests)["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace_s = float(setting(manifests, "SERVING_DRAIN_GRACE_S"))
    drain_s = float(setting(manifests, "SERVING_DRAIN_TIMEOUT_S"))
    kill_at = pod(manifests)["terminationGracePeriodSeconds"]
    stop_s = pre_stop + grace_s + drain_s
    assert kill_at > stop_s, f"SIGKILL at {kill_at}s, before sleep + grace + drain = {stop_s}s"


def test_pods_read_the_rendered_configmap(manifests: list[Manifest]) -> None:
    sources = [s["configMapRef"]["name"] for s in server(manifests)["envFrom"]]
    assert sources == [one(manifests, "ConfigMap")["metadata"]["name"]]
    assert all(key.startswith("SERVING_") for key in settings(manifests))
    assert settings(manifests)["SERVING_HOST"] == "0.0.0.0"


def test_configmap_sets_only_real_settings(manifests: list[Manifest]) -> None:
    # The service ignores unknown SERVING_* variables, so a typo here would pass silently.
    unknown = [key for key in settings(manifests) if field_name(key) not in Settings.model_fields]
    assert not unknown, f"{unknown} are not fields of service.settings.Settings"


def test_service_links_cannot_shadow_settings(manifests: list[Manifest]) -> None:
    assert pod(manifests)["enableServiceLinks"] is False


def test_prometheus_scrapes_metrics_on_the_server_port(manifests: list[Manifest]) -> None:
    annotations = one(manifests, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert annotations["prometheus.io/port"] == settings(manifests)["SERVING_PORT"]


# ---- scaling and disruption ---------------------------------------------------------------------


def test_rollout_never_drops_capacity(manifests: list[Manifest]) -> None:
    strategy = one(manifests, "Deployment")["spec"]["strategy"]
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0


def test_hpa_scales_the_deployment_on_cpu(manifests: list[Manifest]) -> None:
    hpa, deployment = one(manifests, "HorizontalPodAutoscaler"), one(manifests, "Deployment")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment")
    assert target["name"] == deployment["metadata"]["name"]
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    cpu_metrics = [m for m in hpa["spec"]["metrics"] if m["resource"]["name"] == "cpu"]
    assert cpu_metrics, hpa["spec"]["metrics"]
    assert cpu_metrics[0]["resource"]["target"]["type"] == "Utilization"
    assert "cpu" in server(manifests)["resources"]["requests"], "utilisation is of the request"
    assert "replicas" not in deployment["spec"], "a fixed count would fight the autoscaler"


@pytest.mark.parametrize("selector", ["pdb", "service", "deployment", "spread"])
def test_selectors_match_the_pod_labels(manifests: list[Manifest], selector: str) -> None:
    deployment = one(manifests, "Deployment")
    selectors = {
        "pdb": one(manifests, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        "service": one(manifests, "Service")["spec"]["selector"],
        "deployment": deployment["spec"]["selector"]["matchLabels"],
        "spread": pod(manifests)["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"],
    }
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selectors[selector].items() <= labels.items()


def test_pdb_lets_drains_proceed_one_pod_at_a_time(manifests: list[Manifest]) -> None:
    spec = one(manifests, "PodDisruptionBudget")["spec"]
    assert spec["maxUnavailable"] == 1
    assert "minAvailable" not in spec


# ---- security -----------------------------------------------------------------------------------


def test_pod_runs_as_the_image_user(manifests: list[Manifest], dockerfile: Dockerfile) -> None:
    context = pod(manifests)["securityContext"]
    assert context["runAsNonRoot"] is True
    uid, _, gid = dockerfile.last("cpu", "USER").partition(":")
    assert (context["runAsUser"], context["runAsGroup"]) == (int(uid), int(gid))


def test_every_container_is_locked_down(manifests: list[Manifest]) -> None:
    for container in [*pod(manifests).get("initContainers", []), server(manifests)]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        assert context["capabilities"] == {"drop": ["ALL"]}, container["name"]
        assert "memory" in container["resources"]["limits"], container["name"]


def test_writable_paths_are_empty_dirs(manifests: list[Manifest]) -> None:
    volumes = {v["name"]: v for v in pod(manifests)["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in server(manifests)["volumeMounts"]}
    assert "/tmp" in mounts
    assert all("emptyDir" in volumes[name] for name in mounts.values())


# ---- the two overlays ---------------------------------------------------------------------------


def test_gpu_overlay_takes_one_gpu_on_a_gpu_node(gpu: list[Manifest]) -> None:
    assert server(gpu)["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod(gpu)["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {t["key"] for t in pod(gpu)["tolerations"]} == {"nvidia.com/gpu"}
    assert server(gpu)["image"].endswith("-gpu")


def test_gpu_overlay_runs_one_process_trying_tensorrt_first(gpu: list[Manifest]) -> None:
    assert settings(gpu)["SERVING_PROVIDERS"] == "tensorrt,cuda,cpu"
    assert settings(gpu)["SERVING_WORKERS"] == "1"
    assert settings(gpu)["SERVING_REQUIRE_GPU"] == "true", "a GPU pod never serves on its CPU"


def test_gpu_overlay_serves_a_writable_copy_of_the_baked_models(
    gpu: list[Manifest], dockerfile: Dockerfile
) -> None:
    # TensorRT writes its engine cache beside each model; the image's copy is read-only.
    (init,) = pod(gpu)["initContainers"]
    served = settings(gpu)["SERVING_MODEL_REPOSITORY"]
    baked = dockerfile.env("gpu")["SERVING_MODEL_REPOSITORY"]
    assert init["image"] == server(gpu)["image"]
    assert init["command"] == ["cp", "-R", f"{baked}/.", f"{served}/"]
    volumes = {v["name"]: v for v in pod(gpu)["volumes"]}
    for container in (init, server(gpu)):
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert "emptyDir" in volumes[mounts[served]], f"{container['name']} lacks {served}"


def test_gpu_rollout_allows_for_engine_builds(gpu: list[Manifest]) -> None:
    assert one(gpu, "Deployment")["spec"]["progressDeadlineSeconds"] > 600, "600 is the default"


def test_cpu_overlay_has_whole_cores_for_its_workers(cpu: list[Manifest]) -> None:
    resources = server(cpu)["resources"]
    assert resources["requests"] == resources["limits"], "Guaranteed QoS"
    assert "nvidia.com/gpu" not in resources["limits"]
    assert server(cpu)["image"].endswith("-cpu")
    config = settings(cpu)
    threads = int(config["SERVING_WORKERS"]) * int(config["SERVING_INTRA_OP_THREADS"])
    assert config["SERVING_WORKERS"] == "2"
    assert threads <= int(resources["limits"]["cpu"]), "more ORT threads than cores throttle"
