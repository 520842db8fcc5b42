"""The images built from the working tree and run: what a user of `docker run` would notice.

The `cpu` container runs as the cluster runs it: read-only root filesystem, a tmpfs at /tmp.
"""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from loadtest.drawing import render_user_style
from loadtest.server import free_port
from tests.deploy.containers import ROOT, Engine
from tests.deploy.image_report import ImageMeasurements
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.container

READY_WITHIN_S = 60
READ_ONLY = ("--read-only", "--tmpfs", "/tmp")
STOP_TIMEOUT_S = 45
TRAINING_STACK = ("tensorflow", "tf2onnx", "keras")
POSITIVE = "A wonderful film: moving, beautifully acted, and I loved every minute of it."
NEGATIVE = "A dreadful, boring mess. The worst film I have seen; a total waste of time."


class Container:
    """A running container of an image and the HTTP client that reaches it."""

    def __init__(self, engine: Engine, image: str, options: tuple[str, ...] = ()) -> None:
        self.engine = engine
        self.name = f"dss-test-{uuid.uuid4().hex[:8]}"
        port = free_port()
        self.started = time.monotonic()
        podman_only = ("--read-only-tmpfs=false",) if engine.name == "podman" else ()
        engine.run_detached(image, self.name, port, (*READ_ONLY, *podman_only, *options))
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, trust_env=False)

    def wait_ready(self) -> float:
        """Seconds from `run` until /readyz answered 200."""
        eventually(self.ready, READY_WITHIN_S, interval_s=0.2, what=f"{self.name} /readyz 200")
        return time.monotonic() - self.started

    def ready(self) -> bool:
        try:
            return self.http.get("/readyz").status_code == 200
        except httpx.TransportError:
            return False

    def python(self, code: str) -> str:
        """Run Python in the container, as the image's user; its stdout."""
        return self.engine("exec", self.name, "python", "-c", code).stdout.strip()

    def logs(self) -> str:
        result = self.engine("logs", self.name, check=False)
        return (result.stdout + result.stderr)[-4000:]

    def close(self) -> None:
        self.http.close()
        self.engine.remove(self.name)


@pytest.fixture(scope="module")
def serving(
    engine: Engine, cpu_image: str, image_measurements: ImageMeasurements
) -> Iterator[Container]:
    """The `cpu` image, running read-only and ready; cold start measured."""
    container = Container(engine, cpu_image)
    try:
        image_measurements.ready_s = container.wait_ready()
    except AssertionError as error:
        container.close()
        raise AssertionError(f"{error}\n{container.logs()}") from None
    yield container
    container.close()


def test_ready_within_a_minute(serving: Container) -> None:
    body = serving.http.get("/readyz").json()
    assert body["ready"], body
    assert not body["draining"], body
    assert len(body["models"]) == len(list((ROOT / "models").iterdir())), "every shipped model"


def test_reads_real_mnist_digits_drawn_by_a_user(serving: Container, data_dir: Path) -> None:
    with np.load(data_dir / "mnist.npz") as mnist:
        images, labels = mnist["x_test"][:10], mnist["y_test"][:10]
    answers = []
    for pixels in images:
        response = serving.http.post(
            "/predict/digit",
            content=render_user_style(pixels),
            headers={"content-type": "image/png"},
        )
        assert response.status_code == 200, response.text
        answers.append(response.json()["digit"])
    right = sum(int(a == b) for a, b in zip(answers, labels, strict=True))
    assert right >= 9, f"read {answers}, drawn {labels.tolist()}"


def test_scores_reviews(serving: Container) -> None:
    response = serving.http.post("/sentiment", json={"texts": [POSITIVE, NEGATIVE]})
    assert response.status_code == 200, response.text
    labels = [p["label"] for p in response.json()["predictions"]]
    assert labels == ["positive", "negative"]


def test_generates_a_png_grid(serving: Container) -> None:
    response = serving.http.get("/generate", params={"count": 4, "seed": 7})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    grid = Image.open(io.BytesIO(response.content))
    assert grid.format == "PNG"
    assert min(grid.size) >= 28, grid.size


def test_runs_as_the_unprivileged_user(serving: Container) -> None:
    # The server process itself, not only what `exec` runs as.
    uid = serving.python("import os; print(os.stat('/proc/1').st_uid)")
    assert uid == "10001"


def test_holds_no_training_stack(serving: Container) -> None:
    code = f"import importlib.util as u; print([m for m in {TRAINING_STACK!r} if u.find_spec(m)])"
    assert serving.python(code) == "[]"


def test_healthcheck_passes(serving: Container) -> None:
    result = serving.engine.healthcheck(serving.name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_root_filesystem_is_read_only(serving: Container) -> None:
    code = "import os\ntry: open('/app/probe', 'w')\nexcept OSError as e: print(e.errno)"
    assert serving.python(code) == "30"  # EROFS: the server ran on it and stayed ready


def test_stop_drains_requests_in_flight(engine: Engine, cpu_image: str) -> None:
    # A 1 s grace (default 5 s), so the uploads still arrive after it: the drain proper.
    container = Container(engine, cpu_image, ("-e", "SERVING_DRAIN_GRACE_S=1"))
    try:
        container.wait_ready()
        stop_sent = threading.Event()
        with ThreadPoolExecutor(max_workers=4) as pool:
            uploads = [pool.submit(slow_review, container.http, stop_sent) for _ in range(4)]
            time.sleep(0.5)
            started = time.monotonic()
            stopping = pool.submit(
                engine, "stop", "--time", str(STOP_TIMEOUT_S), container.name, timeout=90
            )
            stop_sent.set()
            statuses = [upload.result() for upload in uploads]
            stopping.result()
        stopped_in = time.monotonic() - started
        state = json.loads(engine("inspect", "--format", "{{json .State}}", container.name).stdout)
        assert statuses == [200] * 4, f"{statuses}\n{container.logs()}"
        assert state["ExitCode"] == 0, container.logs()
        assert stopped_in < STOP_TIMEOUT_S / 3, f"stop took {stopped_in:.1f} s"
    finally:
        container.close()


def slow_review(http: httpx.Client, stop_sent: threading.Event) -> int:
    """POST a review whose body trickles in for ~3 s, the stop arriving meanwhile."""

    def body() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(30):
            yield b"wonderful "
            time.sleep(0.1)
        assert stop_sent.is_set(), "the stop was not sent while the upload was under way"
        yield b'"}'

    response = http.post("/sentiment", content=body(), headers={"content-type": "application/json"})
    return response.status_code
