"""docs/deployment.md stays true: its settings table, build targets and overlay paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.settings import Settings
from tests.deploy import image_report
from tests.helpers.dockerfile import Dockerfile

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "deployment.md").read_text()
ROWS = {m[0]: m[1].strip() for m in re.findall(r"^\| `(SERVING_\w+)` \| ([^|]*)\|", DOC, re.M)}


def test_settings_table_lists_every_setting() -> None:
    fields = {f"SERVING_{name.upper()}" for name in Settings.model_fields}
    assert set(ROWS) == fields


@pytest.mark.parametrize("variable", sorted(ROWS))
def test_settings_table_states_the_default(variable: str) -> None:
    default = Settings.model_fields[variable.removeprefix("SERVING_").lower()].default
    cell = ROWS[variable]
    if default is None or not cell.startswith("`"):
        assert default is None, f"{variable}: the table should state the default {default!r}"
        return
    stated = cell.split("`")[1]
    if isinstance(default, bool):
        assert stated.lower() == str(default).lower(), f"{variable}: {stated} in the doc, {default}"
    elif isinstance(default, int | float):
        assert float(stated) == float(default), f"{variable}: {stated} in the doc, {default}"
    else:
        assert stated == str(default), f"{variable}: {stated} in the doc, {default}"


def test_build_commands_name_real_targets(dockerfile: Dockerfile) -> None:
    targets = set(re.findall(r"--target (\w+)", DOC))
    assert targets == {"cpu", "gpu", "train"}
    for target in targets:
        dockerfile.stage(target)


def test_apply_commands_name_real_overlays() -> None:
    overlays = set(re.findall(r"kubectl apply -k (\S+)", DOC))
    assert overlays, "the doc shows how to apply an overlay"
    for overlay in overlays:
        assert (ROOT / overlay / "kustomization.yaml").exists(), overlay


def test_image_measurements_come_from_the_tests() -> None:
    block = image_report.BLOCK.search(DOC)
    assert block, "the measurements markers are in place"
    if not block[1].startswith("Not measured yet"):
        rows = re.findall(r"^\| `(\w+)` \| \d+ MB \| \d+ s \|", block[1], re.M)
        assert rows == ["cpu", "train"], block[1]
