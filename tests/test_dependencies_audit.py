"""pip-audit over every pinned dependency in pyproject.toml.

The audit is marked `network`: `make test` deselects it and `make audit` runs it alone. It asks a
vulnerability service (PyPI's JSON API by default; AUDIT_SERVICE=osv for OSV).
Where the service cannot be reached, or cannot answer for every pin, the test skips and says why:
an audit that did not happen must not pass as a clean one.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICE = os.environ.get("AUDIT_SERVICE", "pypi")
TIMEOUT_S = 300
# Known vulnerabilities accepted for now: id → why (the same table is in docs/reliability.md).
IGNORED: dict[str, str] = {}
NETWORK_ERRORS = ("connection", "max retries", "timed out", "name or service", "network")


def pinned_requirements() -> list[str]:
    """Every requirement of the project, its extras included, each pinned with ==."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [req for group in project["optional-dependencies"].values() for req in group]
    return list(dict.fromkeys([*project["dependencies"], *extras]))


def test_every_requirement_is_pinned() -> None:
    loose = [req for req in pinned_requirements() if "==" not in req.split(";")[0]]
    assert not loose, f"pin these (pip-audit audits exact versions): {loose}"


def audit(requirements: Path) -> subprocess.CompletedProcess[str]:
    """pip-audit on exactly these pins (no resolution: they are the locked set), as JSON."""
    command = [
        sys.executable, "-m", "pip_audit", "--disable-pip", "--no-deps",
        "--requirement", str(requirements), "--vulnerability-service", SERVICE,
        "--format", "json", "--progress-spinner", "off", "--timeout", "30",
    ]  # fmt: skip
    for vulnerability in IGNORED:
        command += ["--ignore-vuln", vulnerability]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


@pytest.mark.network
def test_pinned_dependencies_have_no_known_vulnerabilities(tmp_path: Path) -> None:
    if importlib.util.find_spec("pip_audit") is None:
        pytest.skip("pip-audit is not installed; pip install pip-audit (the dev extra has it)")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(pinned_requirements()) + "\n")
    result = audit(requirements)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        if any(word in result.stderr.lower() for word in NETWORK_ERRORS):
            pytest.skip(f"vulnerability service {SERVICE!r} unreachable: {result.stderr[-300:]}")
        pytest.fail(f"pip-audit failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    dependencies = report["dependencies"]
    unaudited = [f"{d['name']}: {d['skip_reason']}" for d in dependencies if "skip_reason" in d]
    if unaudited:
        pytest.skip(
            f"vulnerability service {SERVICE!r} could not answer for {len(unaudited)} of "
            f"{len(dependencies)} pins (offline or a partial index); first: {unaudited[0]}"
        )
    found = [
        f"{d['name']} {d['version']}: {v['id']} (fixed in {', '.join(v['fix_versions']) or '–'})"
        for d in dependencies
        for v in d["vulns"]
    ]
    assert not found, (
        "known vulnerabilities; upgrade the pin, or accept it in IGNORED and docs/reliability.md "
        "with a reason:\n" + "\n".join(found)
    )
