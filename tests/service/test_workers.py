"""Several worker processes (`SERVING_WORKERS`) answer as one server: /metrics covers them all."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from service.metrics import MULTIPROCESS_DIR
from service.server import shared_metrics_dir
from tests.service.conftest import server_process

pytestmark = pytest.mark.e2e

BLANK = [[0] * 28 for _ in range(28)]
WORKERS = 2


def test_every_scrape_counts_the_requests_of_every_worker(
    tiny_repository: Path, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    env = {"SERVING_WORKERS": str(WORKERS), "SERVING_MODELS": "digits-cnn"}
    with server_process(tiny_repository, log, **env) as (_, base_url):
        sent = 0
        # A fresh connection per request, so the kernel hands them to either worker; keep going
        # until the access log shows both answered (the test is moot otherwise).
        while len(_predict_pids(log)) < WORKERS:
            assert sent < 2000, "one worker answered everything"
            for _ in range(20):
                answer = httpx.post(f"{base_url}/predict/digit", json={"pixels": BLANK})
                assert answer.status_code == 200, answer.text
            sent += 20
        scrapes = [_metrics(base_url) for _ in range(8)]
    for families in scrapes:
        answered = [
            s.value
            for s in families["serving_requests"].samples
            if s.name == "serving_requests_total"
            and s.labels["endpoint"] == "/predict/digit"
            and s.labels["status"] == "200"
        ]
        assert answered == [sent]
        batched = [
            s.value for s in families["serving_batch_size"].samples if s.name.endswith("_sum")
        ]
        assert batched == [sent]  # one row each; warm-up runs are not observed
        ready = {s.labels["model"]: s.value for s in families["serving_model_ready"].samples}
        assert ready == {"digits-cnn": 1.0}
        depth = [s.value for s in families["serving_batch_queue_depth"].samples]
        assert depth == [0.0]


def test_the_shared_metrics_folder_is_private_and_removed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MULTIPROCESS_DIR, raising=False)
    with shared_metrics_dir() as folder:
        assert os.environ[MULTIPROCESS_DIR] == str(folder)
        (folder / "counter_1.db").write_bytes(b"")
    assert not folder.exists()
    assert MULTIPROCESS_DIR not in os.environ


def test_an_operators_metrics_folder_is_cleared_but_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "counter_99.db").write_bytes(b"from the previous run")
    (tmp_path / "notes.txt").write_text("not ours")
    monkeypatch.setenv(MULTIPROCESS_DIR, str(tmp_path))
    with shared_metrics_dir() as folder:
        assert folder == tmp_path
        assert not (tmp_path / "counter_99.db").exists()
        (folder / "counter_1.db").write_bytes(b"")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def _predict_pids(log: Path) -> set[int]:
    pids = set()
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            entry = orjson.loads(line)
            if entry.get("path") == "/predict/digit":
                pids.add(entry["pid"])
    return pids


def _metrics(base_url: str) -> dict[str, Metric]:
    text = httpx.get(f"{base_url}/metrics").text
    return {family.name: family for family in text_string_to_metric_families(text)}
