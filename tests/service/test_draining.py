"""The app's side of a drain: refusals after the grace, probes left open, requests counted."""

from __future__ import annotations

import time
from pathlib import Path

from tests.helpers.apps import running_app, tiny_settings
from tests.helpers.errors import assert_error


def test_once_refusing_new_requests_get_503_with_retry_after(tiny_repository: Path) -> None:
    settings = tiny_settings(tiny_repository, models=["sentiment-lstm"])
    with running_app(settings) as client:
        gate = client.app.state.drain_gate  # type: ignore[attr-defined]
        client.app.state.registry.begin_drain()  # type: ignore[attr-defined]
        gate.refuse(deadline=time.monotonic() + 5)
        refused = client.post("/sentiment", json={"text": "good"})
        models = client.get("/v1/models")
        probes = {path: client.get(path) for path in ("/healthz", "/readyz", "/metrics")}
        gate.refusing = False  # let the lifespan shut down normally
    assert "shutting down" in assert_error(refused, 503, "shutting_down")
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["connection"] == "close", "the client's next try opens a new connection"
    assert models.status_code == 503, "only probes stay open"
    assert probes["/healthz"].status_code == 200
    assert probes["/readyz"].status_code == 503
    assert probes["/readyz"].json()["draining"] is True
    assert probes["/metrics"].status_code == 200


def test_requests_in_flight_are_counted(tiny_repository: Path) -> None:
    with running_app(tiny_settings(tiny_repository, models=["sentiment-lstm"])) as client:
        gate = client.app.state.drain_gate  # type: ignore[attr-defined]
        seen: list[int] = []

        @client.app.get("/probe-in-flight")  # type: ignore[attr-defined, misc]
        async def probe() -> dict[str, int]:
            seen.append(gate.in_flight)
            return {}

        client.get("/probe-in-flight")
        after = gate.in_flight
    assert seen == [1], "the request itself is in flight while it is handled"
    assert after == 0
