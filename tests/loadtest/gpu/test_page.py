"""docs/gpu.md is rendered from gpu-results.json alone: same JSON, same page."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.gpu import page, schema
from loadtest.gpu.cli import main
from loadtest.gpu.measure import PAGE_FILE, RESULTS_FILE
from tests.loadtest.gpu.dry_run import DryRun


@pytest.mark.e2e
def test_the_written_page_is_the_json_rendered(dry_run: DryRun) -> None:
    results = schema.load(dry_run.out / RESULTS_FILE)
    assert (dry_run.out / PAGE_FILE).read_text() == page.render(results)


@pytest.mark.e2e
def test_render_rebuilds_the_page_from_the_json(dry_run: DryRun, tmp_path: Path) -> None:
    rebuilt = tmp_path / PAGE_FILE
    args = ["render", "--results", str(dry_run.out / RESULTS_FILE), "--page", str(rebuilt)]
    assert main(args) == 0
    assert rebuilt.read_text() == (dry_run.out / PAGE_FILE).read_text()


@pytest.mark.e2e
def test_the_page_shows_every_model_and_route(dry_run: DryRun) -> None:
    text = (dry_run.out / PAGE_FILE).read_text()
    for expected in ("digits-cnn", "sentiment-transformer", "/predict/digit", "/generate"):
        assert expected in text


def test_a_table_shows_missing_values_as_a_dash() -> None:
    assert page.table(("a", "b"), [(1, None)]).splitlines()[-1] == "| 1 | — |"


def test_provider_names_are_shortened() -> None:
    assert [page.short(name) for name in ("CUDAExecutionProvider", None)] == ["CUDA", None]
