"""Operations endpoints: /healthz, /readyz (models, draining, the model poller), /metrics."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from unittest.mock import Mock

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from service import registry
from service.settings import Settings
from tests.helpers.apps import running_app, tiny_settings
from tests.helpers.waiting import eventually


def test_healthz_is_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


def test_readyz_lists_every_model_ready(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["ready"], body["draining"]) == (True, False)
    assert {state["status"] for state in body["models"].values()} == {"ready"}


def test_readyz_is_503_while_draining_but_requests_are_still_served(tiny_repository: Path) -> None:
    with running_app(tiny_settings(tiny_repository, models=["sentiment-lstm"])) as test_client:
        test_client.app.state.registry.begin_drain()  # type: ignore[attr-defined]
        ready = test_client.get("/readyz")
        served = test_client.post("/sentiment", json={"text": "good"})
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["error"]["code"] == "not_ready"
    assert "draining" in body["error"]["message"]
    assert body["draining"] is True
    assert int(ready.headers["retry-after"]) >= 1
    assert served.status_code == 200, served.text


def test_readyz_is_503_when_a_configured_model_is_missing(tiny_repository: Path) -> None:
    settings = tiny_settings(tiny_repository, models=["digits-cnn", "digits-missing"])
    with running_app(settings, wait_ready=False) as test_client:
        eventually(
            lambda: test_client.get("/v1/models/digits-cnn").json()["status"] != "loading",
            30,
            what="digits-cnn to finish loading",
        )
        ready = test_client.get("/readyz")
    assert ready.status_code == 503, ready.text
    assert "digits-missing" in ready.json()["error"]["message"]
    assert ready.json()["models"]["digits-missing"]["status"] == "failed"


def test_readyz_is_503_with_an_empty_repository(tmp_path: Path) -> None:
    with running_app(tiny_settings(tmp_path), wait_ready=False) as test_client:
        ready = test_client.get("/readyz")
    assert ready.status_code == 503, ready.text
    assert "no models" in ready.json()["error"]["message"]
    assert str(tmp_path) not in ready.text, "callers see no server path"


class PollerKilled(BaseException):
    """Escapes the poller's `except Exception`, as nothing it calls should."""


def stop_the_poller(client: TestClient, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    if how == "crashed":
        monkeypatch.setattr(registry, "versions", Mock(side_effect=PollerKilled("boom")))
        return

    async def cancel() -> None:
        poller = next(t for t in asyncio.all_tasks() if t.get_name() == "poll-models")
        poller.cancel()

    assert client.portal is not None
    client.portal.call(cancel)


def polling(repository: Path) -> Settings:
    return tiny_settings(repository, models=["sentiment-lstm"], reload_interval_s=0.02)


def test_a_gpu_deployment_on_a_cpu_host_is_not_ready_and_says_why(tiny_repository: Path) -> None:
    settings = tiny_settings(tiny_repository, models=["digits-cnn"], require_gpu=True)
    with running_app(settings, wait_ready=False) as client:
        loaded = lambda: client.get("/readyz").json()["models"]["digits-cnn"]["status"] == "ready"  # noqa: E731
        eventually(loaded, 30, what="digits-cnn loaded")
        ready = client.get("/readyz")
        served = client.post("/predict/digit", json={"pixels": [[0] * 28] * 28})
    assert ready.status_code == 503, ready.text
    assert "SERVING_REQUIRE_GPU is set, but digits-cnn run on the CPU" in ready.json()["reason"]
    assert served.status_code == 200, "traffic that still arrives is served; routing stops it"


@pytest.mark.parametrize("how", ["crashed", "cancelled"])
def test_readyz_is_503_once_the_model_poller_stopped(
    tiny_repository: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    how: str,
) -> None:
    with caplog.at_level(logging.ERROR), running_app(polling(tiny_repository)) as test_client:
        stop_the_poller(test_client, monkeypatch, how)

        def not_ready() -> str:
            response = test_client.get("/readyz")
            assert response.status_code == 503, response.text
            assert response.json()["ready"] is False
            return str(response.json()["error"]["message"])

        reason = eventually(not_ready, what="/readyz answering 503")
        served = test_client.post("/sentiment", json={"text": "good"})
    assert reason.startswith("the model poller stopped ("), reason
    assert ("PollerKilled('boom')" if how == "crashed" else "CancelledError") in reason
    assert served.status_code == 200, "the models still serve the versions they had"
    assert any(r.getMessage().startswith(reason) for r in caplog.records), "and it is logged"


def test_a_poller_stopped_by_shutdown_is_not_reported(
    tiny_repository: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR), running_app(polling(tiny_repository)):
        pass
    assert not [r.getMessage() for r in caplog.records if "poller" in r.getMessage()]


def samples(client: TestClient) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


@pytest.mark.parametrize(
    "name",
    [
        "serving_requests_total",
        "serving_request_duration_seconds_bucket",
        "serving_requests_in_flight",
        "serving_inference_duration_seconds_bucket",
        "serving_batch_size_bucket",
        "serving_batch_queue_depth",
        "serving_queue_wait_seconds_bucket",
        "serving_model_ready",
    ],
)
def test_metrics_expose_every_instrument(client: TestClient, name: str) -> None:
    client.post("/sentiment", json={"text": "good"})
    assert name in samples(client)


def test_requests_are_counted_by_endpoint_model_and_status(client: TestClient) -> None:
    client.post("/sentiment?model=rnn", json={"text": "good"})
    client.post("/sentiment?model=rnn", json={"text": ""})
    client.get("/no/such/path")
    counts = {
        (labels["endpoint"], labels["model"], labels["status"]): value
        for labels, value in samples(client)["serving_requests_total"]
    }
    assert counts[("/sentiment", "sentiment-rnn", "200")] >= 1
    assert counts[("/sentiment", "sentiment-rnn", "422")] >= 1
    assert counts[("unmatched", "", "404")] >= 1, "unknown paths share one series"


def test_shed_requests_are_counted_by_reason(tiny_repository: Path) -> None:
    with running_app(tiny_settings(tiny_repository, models=["digits-mlp"])) as test_client:
        registry = test_client.app.state.registry  # type: ignore[attr-defined]
        test_client.app.state.metrics.shed("digits-mlp", "queue_full")  # type: ignore[attr-defined]
        shed = samples(test_client)["serving_shed_total"]
        assert registry.models["digits-mlp"].status == "ready"
    assert ({"model": "digits-mlp", "reason": "queue_full"}, 1.0) in shed


def test_each_app_has_its_own_metrics(tiny_repository: Path) -> None:
    settings = tiny_settings(tiny_repository, models=["digits-mlp"])
    with running_app(settings) as first, running_app(settings) as second:
        first.get("/healthz")
        first.get("/healthz")
        second.get("/healthz")
        counts = [
            sum(
                v
                for labels, v in samples(c)["serving_requests_total"]
                if labels["endpoint"] == "/healthz"
            )
            for c in (first, second)
        ]
    assert counts == [2.0, 1.0]
