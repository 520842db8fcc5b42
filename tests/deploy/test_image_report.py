"""The measurements block of docs/deployment.md: what the container tests write there."""

from __future__ import annotations

from pathlib import Path

from tests.deploy import image_report
from tests.deploy.image_report import ImageMeasurements


def measured(*, cpu_changed: bool) -> ImageMeasurements:
    return ImageMeasurements(
        engine="podman",
        bases="stand-in bases",
        size_bytes={"cpu": 423_000_000, "train": 2_668_000_000},
        build_s={"cpu": 7.0, "train": 168.0},
        changed={"cpu": cpu_changed, "train": True},
        ready_s=2.7,
        smoke_train_s=28.0,
    )


def doc_with(tmp_path: Path, block: str) -> Path:
    doc = tmp_path / "deployment.md"
    doc.write_text(f"# Deployment\n\n{image_report.BEGIN}\n{block}{image_report.END}\n\nafter\n")
    return doc


def test_the_block_is_replaced_and_the_rest_kept(tmp_path: Path) -> None:
    doc = doc_with(tmp_path, "Not measured yet.\n")
    image_report.write(measured(cpu_changed=True), doc)
    text = doc.read_text()
    assert "| `cpu` | 423 MB | 7 s | 2.7 s |" in text
    assert "| `train` | 2668 MB | 168 s | – |" in text
    assert "`train` image: 28 s." in text
    assert text.startswith("# Deployment\n")
    assert text.endswith("\nafter\n")


def test_an_unchanged_image_keeps_the_time_of_the_build_that_made_it(tmp_path: Path) -> None:
    doc = doc_with(tmp_path, "| `cpu` | 423 MB | 37 s | 2.2 s |\n")
    image_report.write(measured(cpu_changed=False), doc)
    assert "| `cpu` | 423 MB | 37 s | 2.7 s |" in doc.read_text()


def test_a_partial_run_does_not_count_as_complete() -> None:
    partial = measured(cpu_changed=True)
    partial.smoke_train_s = None
    assert not partial.complete()
