"""Every service's use cases (its public coroutines outside routes, route dependencies, event handlers and the
app factory) take their collaborators by keyword, so a call says what it passes and arguments cannot be swapped
unnoticed."""

import ast
import importlib.util
from pathlib import Path

import pytest

from tests.support.harness import SERVICES

pytestmark = pytest.mark.unit

# Routes and their dependencies take what FastAPI injects, handlers what the consumer passes; the app factory
# starts it all.
ENTRY_POINTS = {"api.py", "dependencies.py", "handlers.py", "main.py"}


def use_cases(package: str) -> dict[str, ast.AsyncFunctionDef]:
    """The package's public top-level coroutines outside its entry points and migrations, by module:name."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations is not None
    root = Path(next(iter(spec.submodule_search_locations)))
    found = {}
    for path in sorted(root.rglob("*.py")):
        module = path.relative_to(root)
        if path.name in ENTRY_POINTS or module.parts[0] == "migrations":
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.AsyncFunctionDef) and not node.name.startswith("_"):
                found[f"{module}:{node.name}"] = node
    return found


@pytest.mark.parametrize("package", [spec.package for spec in SERVICES.values()])
def test_use_cases_take_their_collaborators_by_keyword(package: str) -> None:
    found = use_cases(package)
    assert any(name.split(":")[0].endswith("service.py") for name in found), f"{package}: no service.py use case"
    positional = [name for name, node in found.items() if node.args.posonlyargs or node.args.args]
    assert positional == []
