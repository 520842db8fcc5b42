"""Prometheus metrics, in a registry of the app's own so that tests can build several apps.

With several worker processes (`SERVING_WORKERS`), `service.server` points
PROMETHEUS_MULTIPROC_DIR at a shared folder before the workers start: each worker then writes its
values to files there, and a scrape of any worker reads all of them (prometheus_client's
multiprocess mode), so /metrics always describes the whole server, not whichever worker answered.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from service.batching import BatchRecord

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Requests span ~0.5 ms (a cached /healthz) to seconds (a batch of 64 photos on a busy CPU).
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db")


class _ModelChildren(NamedTuple):
    """One model's batching instruments."""

    inference_latency: Histogram
    batch_size: Histogram
    queue_depth: Gauge
    queue_wait: Histogram


class Metrics:
    """Every instrument the service exposes at /metrics; also the batchers' observer."""

    def __init__(self) -> None:
        self.shared_dir = os.environ.get(MULTIPROCESS_DIR)
        if self.shared_dir:
            _forget_dead_workers(Path(self.shared_dir))
        self.registry = CollectorRegistry()
        labels = ("endpoint", "model", "status")
        self.requests = Counter(
            "serving_requests", "HTTP requests handled", labels, registry=self.registry
        )
        self.request_latency = Histogram(
            "serving_request_duration_seconds",
            "HTTP request latency, first byte received to response sent",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # Gauges say how workers combine: summed over live workers, or the least ready one.
        self.in_flight = Gauge(
            "serving_requests_in_flight",
            "HTTP requests being handled",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.inference_latency = Histogram(
            "serving_inference_duration_seconds",
            "onnxruntime session.run time per batch",
            ("model",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "serving_batch_size",
            "rows per session.run",
            ("model",),
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "serving_batch_queue_depth",
            "requests waiting for a batch",
            ("model",),
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.queue_wait = Histogram(
            "serving_queue_wait_seconds",
            "time a request waited in the batch queue before its batch ran",
            ("model",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.shed_requests = Counter(
            "serving_shed",
            "requests refused or dropped to protect latency",
            ("model", "reason"),
            registry=self.registry,
        )
        self.model_ready = Gauge(
            "serving_model_ready",
            "1 when the model is loaded, verified and warm (in every worker)",
            ("model",),
            registry=self.registry,
            multiprocess_mode="livemin",
        )

        # Children by label values. prometheus_client's labels() checks and locks on every call:
        # ~5 µs, seven times a request. The label values are bounded (route templates, served
        # model names, statuses), so the children are kept.
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._model_children: dict[str, _ModelChildren] = {}

    def observe_request(self, endpoint: str, model: str, status: int, seconds: float) -> None:
        """Count one finished HTTP request."""
        children = self._request_children.get((endpoint, model, status))
        if children is None:
            labels = (endpoint, model, str(status))
            children = (self.requests.labels(*labels), self.request_latency.labels(*labels))
            self._request_children[endpoint, model, status] = children
        count, latency = children
        count.inc()
        latency.observe(seconds)

    def queued(self, model: str, requests: int) -> None:
        """BatchObserver: a model's queue depth changed."""
        self._of_model(model).queue_depth.set(requests)

    def batch_done(self, model: str, record: BatchRecord) -> None:
        """BatchObserver: one batch ran."""
        children = self._of_model(model)
        children.inference_latency.observe(record.inference_s)
        children.batch_size.observe(record.rows)
        for seconds in record.queue_waits_s:
            children.queue_wait.observe(seconds)

    def shed(self, model: str, reason: str) -> None:
        """BatchObserver: a request was refused (queue_full) or dropped (deadline)."""
        self.shed_requests.labels(model, reason).inc()

    def _of_model(self, model: str) -> _ModelChildren:
        children = self._model_children.get(model)
        if children is None:
            children = _ModelChildren(
                self.inference_latency.labels(model),
                self.batch_size.labels(model),
                self.queue_depth.labels(model),
                self.queue_wait.labels(model),
            )
            self._model_children[model] = children
        return children

    def render(self) -> bytes:
        """The Prometheus text exposition: of every worker when there are several."""
        return generate_latest(self.server_wide())

    def server_wide(self) -> CollectorRegistry:
        """The instruments summed over every worker (this process's own when there is one)."""
        if not self.shared_dir:
            return self.registry
        workers = CollectorRegistry()
        MultiProcessCollector(workers, path=self.shared_dir)
        return workers


def _forget_dead_workers(folder: Path) -> None:
    """Drop the live-gauge files of workers that have exited (a restarted worker's predecessor)."""
    pids = {
        int(m.group(1))
        for p in folder.glob("gauge_live*.db")
        if (m := _LIVE_GAUGE_FILE.fullmatch(p.name))
    }
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, str(folder))
        except PermissionError:  # alive, owned by someone else
            continue
