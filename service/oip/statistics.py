"""Triton's statistics extension, read from the service's own Prometheus instruments.

No second set of counters: the batcher already reports every batch (rows, run time, each
request's queue wait) to `Metrics`, and the middleware every request, for all routes alike, so
these figures cover the human endpoints too. They describe the whole server, every worker
summed as /metrics does (perf_analyzer subtracts two readings, which must not come from two
different workers), and the model whatever version served; the version reported is the one
serving now.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from service.metrics import Metrics
from service.oip.schemas import InferenceStats, ModelStatistics, StatDuration

NS = 1_000_000_000


@dataclass
class _Totals:
    """Per model: count and cumulative seconds of each instrument."""

    counts: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def duration(self, key: str) -> StatDuration:
        return StatDuration(count=int(self.counts[key]), ns=int(self.seconds[key] * NS))


def model_statistics(metrics: Metrics, versions: dict[str, str]) -> list[ModelStatistics]:
    """Statistics of each model in `versions` (name → version serving)."""
    totals = _collect(metrics)
    return [_statistics(name, version, totals[name]) for name, version in versions.items()]


def _statistics(name: str, version: str, totals: _Totals) -> ModelStatistics:
    compute = totals.duration("compute")
    stats = InferenceStats(
        success=totals.duration("success"),
        fail=totals.duration("fail"),
        queue=totals.duration("queue"),
        compute_input=StatDuration(count=compute.count),
        compute_infer=compute,
        compute_output=StatDuration(count=compute.count),
    )
    return ModelStatistics(
        name=name,
        version=version,
        last_inference=0,
        inference_count=int(totals.counts["rows"]),
        execution_count=int(totals.counts["batches"]),
        inference_stats=stats,
    )


def _collect(metrics: Metrics) -> dict[str, _Totals]:
    """Sum the samples of the request, queue-wait, inference and batch-size instruments."""
    totals: dict[str, _Totals] = defaultdict(_Totals)
    for family in metrics.server_wide().collect():
        for sample in family.samples:
            model = sample.labels.get("model")
            if not model:
                continue
            key = _key(sample.name, sample.labels.get("status"))
            if key is not None:
                kind, what = key
                getattr(totals[model], what)[kind] += sample.value
    return totals


def _key(sample: str, status: str | None) -> tuple[str, str] | None:
    """(statistic, "counts" | "seconds") a sample adds to, or None for the others."""
    # Triton counts compute per request; ours is per batch (each request in it waited as long).
    by_name = {
        "serving_queue_wait_seconds_count": ("queue", "counts"),
        "serving_queue_wait_seconds_sum": ("queue", "seconds"),
        "serving_inference_duration_seconds_count": ("compute", "counts"),
        "serving_inference_duration_seconds_sum": ("compute", "seconds"),
        "serving_batch_size_sum": ("rows", "counts"),
        "serving_batch_size_count": ("batches", "counts"),
    }
    if sample in by_name:
        return by_name[sample]
    if sample.startswith("serving_request_duration_seconds_") and status is not None:
        outcome = "success" if status == "200" else "fail"
        if sample.endswith("_count"):
            return outcome, "counts"
        if sample.endswith("_sum"):
            return outcome, "seconds"
    return None
