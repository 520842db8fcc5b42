"""An overload burst on a real server: work it cannot finish in time is refused at once.

The model takes ~70 ms a batch of 16 (the tiny repository's `slow` digits), so the server drains
about 230 rows a second; a burst from 48 connections of 16-row requests is far more than fits in
the 2 s deadline. Admission weighs the rows ahead at the measured rate: the surplus gets 429 in
milliseconds instead of waiting out the deadline for a 503.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.helpers.apps import server_process
from tests.helpers.tiny_models import TINY_BATCH, build_repository

pytestmark = pytest.mark.e2e

CONNECTIONS = 48
REQUESTS = 240
DEADLINE_S = 2.0
SIXTEEN = {"instances": [{"pixels": [[0] * 28] * 28}] * TINY_BATCH}


def test_a_burst_gets_answers_or_quick_refusals_never_a_deadline_miss(tmp_path: Path) -> None:
    repository = build_repository(tmp_path / "models", ("digits-cnn",), slow=True)
    env = {
        "SERVING_MODELS": "digits-cnn",
        "SERVING_REQUEST_TIMEOUT_S": str(DEADLINE_S),
        "SERVING_LOG_LEVEL": "warning",
    }
    with (
        server_process(repository, tmp_path / "server.log", **env) as (_, base_url),
        httpx.Client(
            base_url=base_url, timeout=30, limits=httpx.Limits(max_connections=CONNECTIONS)
        ) as client,
        ThreadPoolExecutor(CONNECTIONS) as pool,
    ):
        answers = list(pool.map(lambda _: post(client), range(REQUESTS)))
        refusal_s = server_seconds(client, status="429")
    statuses = Counter(status for status, _ in answers)
    assert statuses["200"] > 0, statuses
    assert statuses["429 overloaded"] > 0, f"the burst was meant to overload: {statuses}"
    assert set(statuses) == {"200", "429 overloaded"}, statuses
    assert refusal_s < 0.1, f"a 429 took {refusal_s * 1000:.0f} ms in the server on average"
    refusals = [message for status, message in answers if status != "200"]
    assert all("rows ahead" in message or "queued" in message for message in refusals), refusals


def post(client: httpx.Client) -> tuple[str, str]:
    """One 16-row request: its status (and error code) and message."""
    response = client.post("/predict/digit", json=SIXTEEN)
    if response.status_code == 200:
        return "200", ""
    error = response.json()["error"]
    return f"{response.status_code} {error['code']}", error["message"]


def server_seconds(client: httpx.Client, status: str) -> float:
    """Mean time the server spent on /predict/digit answers of `status` (NaN: none), by metrics."""
    prefix = 'serving_request_duration_seconds_{}{{endpoint="/predict/digit",model="digits-cnn"'
    lines = client.get("/metrics").text.splitlines()
    total, count = (
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in lines
            if line.startswith(prefix.format(kind)) and f'status="{status}"' in line
        )
        for kind in ("sum", "count")
    )
    return total / count if count else float("nan")
