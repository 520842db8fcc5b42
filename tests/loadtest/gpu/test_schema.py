"""gpu-results.json: a dry run writes a file the schema accepts, and the schema rejects drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from loadtest.gpu import schema
from loadtest.gpu.measure import RESULTS_FILE
from tests.helpers.tiny_models import ALL_NAMES, TINY_BATCH
from tests.loadtest.gpu.dry_run import DryRun

pytestmark = pytest.mark.e2e  # every test reads the dry run, which starts the service


def test_a_dry_run_writes_complete_consistent_results(dry_run: DryRun) -> None:
    assert dry_run.returncode == 0, dry_run.output
    results = schema.load(dry_run.out / RESULTS_FILE)
    assert results.complete, results.notes
    assert schema.problems(results) == []
    assert results.device is not None
    assert results.device.onnxruntime


def test_every_model_has_cpu_latency_at_batch_1_and_its_largest(dry_run: DryRun) -> None:
    results = schema.load(dry_run.out / RESULTS_FILE)
    measured = {(row.model, row.batch) for row in results.latencies if row.requested == "cpu"}
    assert measured == {(name, batch) for name in ALL_NAMES for batch in (1, TINY_BATCH)}
    assert all(row.calls >= 3 and row.p50_ms <= row.p99_ms for row in results.latencies)


def test_the_service_reports_where_each_model_runs_and_answers_every_route(
    dry_run: DryRun,
) -> None:
    results = schema.load(dry_run.out / RESULTS_FILE)
    (run,) = results.services
    assert {model.model: model.provider for model in run.models} == dict.fromkeys(
        ALL_NAMES, "CPUExecutionProvider"
    )
    assert schema.off_gpu(run) == sorted(ALL_NAMES)
    assert {row.target for row in results.bench} == {"digit", "sentiment", "generate"}
    assert all(row.requests > 0 and row.errors == 0 for row in results.bench), results.bench


def test_an_unknown_field_is_an_error(dry_run_json: dict[str, object], tmp_path: Path) -> None:
    dry_run_json["gpu_name"] = "renamed"
    (tmp_path / RESULTS_FILE).write_text(json.dumps(dry_run_json))
    with pytest.raises(ValidationError, match="gpu_name"):
        schema.load(tmp_path / RESULTS_FILE)


def test_a_missing_figure_is_an_error(dry_run_json: dict[str, object], tmp_path: Path) -> None:
    del dry_run_json["options"]
    (tmp_path / RESULTS_FILE).write_text(json.dumps(dry_run_json))
    with pytest.raises(ValidationError, match="options"):
        schema.load(tmp_path / RESULTS_FILE)


def test_latency_without_a_successful_load_is_a_problem(dry_run: DryRun) -> None:
    results = schema.load(dry_run.out / RESULTS_FILE)
    results.loads = [load for load in results.loads if load.model != "digits-cnn"]
    assert any("digits-cnn" in problem for problem in schema.problems(results))


@pytest.fixture
def dry_run_json(dry_run: DryRun) -> dict[str, object]:
    """The dry run's JSON as a plain dict, to break on purpose."""
    loaded: dict[str, object] = json.loads((dry_run.out / RESULTS_FILE).read_text())
    return loaded
