"""The layout is the architecture: contract at the bottom, the stages side by side, loadtest on top.

Read from the imports, not from the docs: a newcomer should be able to trust the picture in
README.md, and these checks keep it true.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("contract", "training", "export", "service", "loadtest")
# What each package may import from this project; anything else is a layering mistake.
ALLOWED = {
    "contract": {"contract"},
    "training": {"contract", "training"},
    "export": {"contract", "training", "export"},  # training's data loaders and Keras layers
    "service": {"contract", "service"},
    "loadtest": {"contract", "training", "service", "loadtest"},
}
# The contract is what the serving image and every stage can afford to import.
CONTRACT_THIRD_PARTY = {"numpy", "PIL", "pydantic"}
MAX_MODULE_LINES = 300
MAX_P90_FUNCTION_LINES = 25


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every module `path` imports (relative imports excluded)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def function_lengths(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), str(path))
    functions = (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))
    return [f.end_lineno - f.lineno + 1 for f in functions if f.end_lineno is not None]


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_the_floors_below_it(package: str) -> None:
    trespasses = {
        f"{path.relative_to(ROOT)} imports {sorted(found)}"
        for path in modules(package)
        if (found := (imported_roots(path) & set(PACKAGES)) - ALLOWED[package])
    }
    assert not trespasses, trespasses


def test_the_contract_imports_nothing_heavier_than_numpy_pillow_and_pydantic() -> None:
    allowed = CONTRACT_THIRD_PARTY | {"contract"} | set(sys.stdlib_module_names)
    heavy = {
        f"{path.relative_to(ROOT)} imports {sorted(found)}"
        for path in modules("contract")
        if (found := imported_roots(path) - allowed)
    }
    assert not heavy, heavy


def test_the_service_and_the_contract_load_without_a_training_library() -> None:
    code = (
        "import sys, service.app, service.__main__, contract.tensors, contract.images, "
        "contract.tensorrt; sys.exit(bool({'tensorflow', 'keras', 'tf2onnx'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, f"a training library was imported: {result.stderr}"


@pytest.mark.parametrize("package", PACKAGES)
def test_package_markers_are_empty(package: str) -> None:
    # An import-time side effect here would run in every stage, and in the serving image.
    assert (ROOT / package / "__init__.py").read_text() == ""


@pytest.mark.parametrize("package", [*PACKAGES, "tests"])
def test_modules_stay_small_enough_to_read_at_once(package: str) -> None:
    long = {
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in modules(package)
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


@pytest.mark.parametrize("package", [*PACKAGES, "tests"])
def test_nine_functions_in_ten_fit_on_a_screen(package: str) -> None:
    lengths = sorted(n for path in modules(package) for n in function_lengths(path))
    p90 = lengths[int(0.9 * (len(lengths) - 1))]
    assert p90 <= MAX_P90_FUNCTION_LINES, f"{package}: p90 function length is {p90} lines"
