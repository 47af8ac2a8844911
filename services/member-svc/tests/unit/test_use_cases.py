"""member-svc's use cases (its public coroutines outside routes, route dependencies, event handlers and the app
factory) take their collaborators by keyword, so a call says what it passes and arguments cannot be swapped
unnoticed."""

import ast
from pathlib import Path

import pytest

import member_svc

pytestmark = pytest.mark.unit

PACKAGE = Path(member_svc.__file__).parent
# Routes and their dependencies take what FastAPI injects, handlers what the consumer passes; the app factory
# starts it all.
ENTRY_POINTS = {"api.py", "dependencies.py", "handlers.py", "main.py"}


def use_cases() -> dict[str, ast.AsyncFunctionDef]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE)
        if path.name in ENTRY_POINTS or module.parts[0] == "migrations":
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.AsyncFunctionDef) and not node.name.startswith("_"):
                found[f"{module}:{node.name}"] = node
    return found


def test_use_cases_take_their_collaborators_by_keyword() -> None:
    found = use_cases()
    assert "communities/service.py:join_community" in found
    positional = [name for name, node in found.items() if node.args.posonlyargs or node.args.args]
    assert positional == []
