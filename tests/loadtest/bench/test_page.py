"""docs/benchmarks.md: the page has the tables and verdicts, and is written with its plot."""

from __future__ import annotations

from pathlib import Path

from loadtest.bench import page
from loadtest.bench.goals import checks
from tests.loadtest.bench.sample_results import RESULTS


def test_the_page_has_the_tables_and_the_verdicts() -> None:
    text = page.render(RESULTS, checks(RESULTS))
    assert "| service | digit-pixels | 32 | 3,600.0 | 1.00 | 18.00 | 0 | 0 |" in text
    assert "| /sentiment vs Keras per request | 40.00× | ≥ 50× | **MISS** |" in text
    assert "| gan-dcgan | 32 | 1,200 | - | 1,100 |" in text
    assert "9,000 shed with 429 (0 without Retry-After)" in text
    assert "quiet" in text
    assert "AMD EPYC" in text
    assert "| digits-cnn | 32 | 3,100.0 | 9.00 | 16.00 | digit-pixels | 3,600.0 | 18.00 |" in text
    assert "| granian | 2 | healthz | 9,999 |" in text
    assert "| png | 777 |" in text
    assert "best of 3 runs" in text
    assert "| **core-µs per request** | **200** | **400** |" in text


def test_the_page_names_the_files_that_generate_it() -> None:
    text = page.render(RESULTS, checks(RESULTS))
    for path in (
        "loadtest/bench/page.py",
        "loadtest/bench/noop_app.py",
        "loadtest/bench/keras_server.py",
        "loadtest/bench/minimal_server.py",
    ):
        assert path in text
        assert (Path(__file__).resolve().parents[3] / path).is_file(), path


def test_the_page_and_its_plot_are_written_to_reports_and_docs(tmp_path: Path) -> None:
    found = page.write(RESULTS, tmp_path / "reports", tmp_path / "docs" / "benchmarks.md")
    assert len(found) == 11
    assert (tmp_path / "docs" / "benchmarks.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "reports" / "benchmarks.md").read_text().startswith("# Benchmarks")
    assert (tmp_path / "reports" / "benchmarks.png").is_file()
