"""Every test file says which tier it belongs to, so `make unit`, `make integration` and `make e2e` (pytest -m
<tier>) between them run every test; and the helpers unit tests build on never reach production code."""

import ast
import tomllib
from pathlib import Path

import pytest

from tests.support.harness import ROOT

pytestmark = pytest.mark.unit

TIERS = {
    marker.split(":")[0]
    for marker in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
}
TEST_ROOTS = ("shared/tests", "services", "tests")


def suite_files() -> list[Path]:
    return sorted(
        path
        for root in TEST_ROOTS
        for path in (ROOT / root).rglob("test_*.py")
        if ".venv" not in path.parts and "node_modules" not in path.parts
    )


def tiers_of(path: Path) -> list[str]:
    """The tier markers of the module's `pytestmark` (`pytest.mark.unit`, or a list of marks)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytestmark" for target in node.targets
        ):
            marks = node.value.elts if isinstance(node.value, ast.List | ast.Tuple) else [node.value]
            return [name for mark in marks if (name := _marker_name(mark)) in TIERS]
    return []


def _marker_name(mark: ast.expr) -> str | None:
    """`unit` of `pytest.mark.unit` (or of `pytest.mark.unit(...)`)."""
    if isinstance(mark, ast.Call):
        mark = mark.func
    if isinstance(mark, ast.Attribute) and isinstance(mark.value, ast.Attribute) and mark.value.attr == "mark":
        return mark.attr
    return None


def test_the_tiers_are_the_markers_pyproject_declares() -> None:
    assert {"unit", "integration", "e2e", "faults", "deploy"} <= TIERS


def test_every_test_file_carries_exactly_one_tier_marker() -> None:
    found = suite_files()
    assert len(found) > 100  # the walk found the suite
    untiered = {str(path.relative_to(ROOT)): tiers_of(path) for path in found if len(tiers_of(path)) != 1}
    assert untiered == {}, "each test file needs one `pytestmark = pytest.mark.<tier>`: " + ", ".join(sorted(TIERS))


def test_a_file_without_a_tier_marker_is_caught(tmp_path: Path) -> None:
    unmarked, marked, listed = tmp_path / "test_a.py", tmp_path / "test_b.py", tmp_path / "test_c.py"
    unmarked.write_text("import pytest\n\n\n@pytest.mark.parametrize('x', [1])\ndef test_x(x): ...\n")
    marked.write_text("import pytest\n\npytestmark = pytest.mark.integration\n")
    listed.write_text("import pytest\n\npytestmark = [pytest.mark.e2e, pytest.mark.timeout(5)]\n")
    assert (tiers_of(unmarked), tiers_of(marked), tiers_of(listed)) == ([], ["integration"], ["e2e"])


def production_modules() -> list[Path]:
    return sorted(
        path
        for root in [ROOT / "shared/src", *(ROOT / "services").glob("*/src")]
        for path in root.rglob("*.py")
        if path != ROOT / "shared/src/qunyun_shared/testing.py"
    )


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_production_code_imports_neither_the_testing_module_nor_pytest() -> None:
    def test_only(name: str) -> bool:
        return name.split(".")[0] in {"pytest", "pytest_asyncio", "tests"} or name.startswith("qunyun_shared.testing")

    offending = {
        str(path.relative_to(ROOT)): sorted(filter(test_only, imported_modules(path))) for path in production_modules()
    }
    assert {path: names for path, names in offending.items() if names} == {}
