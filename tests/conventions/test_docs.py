"""The docs stay true of the code: every test they cite exists, every file and module they name is there, every
relative link lands, and each service page lists the events its service publishes and handles and the settings
it reads. A rename or a move that leaves a doc behind fails here."""

import importlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from qunyun_shared.events.catalogue import CATALOGUE
from qunyun_shared.settings import ServiceSettings
from tests.support.harness import SERVICES

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# Written by hand: what they cite is checked. The generated references are checked for links only.
WRITTEN = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("architecture.md")),
    ROOT / "docs" / "idempotency.md",
    *sorted((ROOT / "docs" / "services").glob("*.md")),
    ROOT / "bench" / "README.md",
    ROOT / "tests" / "README.md",
    ROOT / "tests" / "deploy" / "README.md",
    ROOT / "deploy" / "k8s" / "README.md",
]
GENERATED = [ROOT / "docs" / name for name in ("api.md", "events.md", "kpis.md", "access.md")]
TEST_ROOTS = [ROOT / "tests", ROOT / "shared" / "tests", *sorted((ROOT / "services").glob("*/tests"))]
PACKAGES = ("qunyun_shared", *(spec.package for spec in SERVICES.values()))
# Paths in other repositories that docs name as their source.
ELSEWHERE = {"schema/compose-spec.json"}
_SKIPPED_DIRS = {".git", ".venv", ".cache", ".run", "node_modules", "__pycache__"}

_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_EVENT = re.compile(r"`([a-z_]+\.[a-z_]+)`")


def test_every_test_the_docs_cite_exists() -> None:
    defined = {
        match.group(1)
        for root in TEST_ROOTS
        for path in root.rglob("test_*.py")
        for match in re.finditer(r"^(?:async )?def (test_\w+)", path.read_text(), re.MULTILINE)
    }
    cited = {(doc.name, name) for doc in WRITTEN for name in _code(doc) if re.fullmatch(r"test_\w+", name)}
    assert len(cited) > 100
    assert sorted((doc, name) for doc, name in cited if name not in defined) == []


def test_every_file_and_module_the_docs_name_exists() -> None:
    paths = set(_repo_paths())
    missing = [
        (doc.name, name)
        for doc in WRITTEN
        for name in _code(doc)
        if (_looks_like_a_path(name) and name not in ELSEWHERE and not _found(name.rstrip("/"), doc, paths))
        or (_looks_like_a_module(name) and not _importable(name))
    ]
    assert missing == []


def test_every_relative_link_in_the_docs_lands() -> None:
    broken = []
    for doc in WRITTEN + GENERATED:
        for target in _LINK.findall(doc.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            path = (doc.parent / file).resolve() if file else doc
            if not path.exists() or (anchor and path.suffix == ".md" and anchor not in _anchors(path)):
                broken.append((doc.relative_to(ROOT).as_posix(), target))
    assert broken == []


@pytest.mark.parametrize("service", list(SERVICES))
def test_each_service_page_in_the_docs_lists_its_events(service: str) -> None:
    page = (ROOT / "docs" / "services" / f"{service}.md").read_text()
    publishes, consumes = _item(page, "Publishes"), _item(page, "Consumes")
    produced = {spec.type for spec in CATALOGUE.values() if spec.producer == service}
    assert set(_EVENT.findall(publishes)) == produced
    handled = set(importlib.import_module(f"{SERVICES[service].package}.handlers").HANDLERS)
    named = set(_EVENT.findall(consumes))
    public = {spec.type for spec in CATALOGUE.values() if spec.public} if "every public event" in consumes else set()
    assert named <= handled and handled - named <= public


@pytest.mark.parametrize("service", list(SERVICES))
def test_each_service_page_in_the_docs_lists_its_settings(service: str) -> None:
    page = (ROOT / "docs" / "services" / f"{service}.md").read_text()
    settings = importlib.import_module(f"{SERVICES[service].package}.config").Settings
    own = set(settings.model_fields) - set(ServiceSettings.model_fields)
    assert [name.upper() for name in sorted(own) if f"`{name.upper()}`" not in page] == []


def test_the_architecture_doc_lists_the_settings_every_service_reads() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    assert [name.upper() for name in ServiceSettings.model_fields if f"`{name.upper()}`" not in text] == []


def _code(doc: Path) -> list[str]:
    return _CODE.findall(doc.read_text())


def _item(page: str, label: str) -> str:
    """The text of the list item `- **<label>:** …`, continuation lines included."""
    match = re.search(rf"^- \*\*{label}:\*\*(.*?)(?=^- |^\s*$)", page, re.MULTILINE | re.DOTALL)
    assert match, f"no '- **{label}:**' item"
    return match.group(1)


def _looks_like_a_path(name: str) -> bool:
    """A repository path: has a slash, no spaces, placeholders, globs or URL parts; not a runtime directory."""
    return (
        "/" in name
        and not re.search(r"[\s<>{}*…|:]", name)
        and not name.startswith(("/", ".", "…"))
        and not name.startswith(("http", "POST", "GET", "application/", "text/"))
    )


def _found(name: str, doc: Path, paths: set[str]) -> bool:
    """From the root, from the doc's folder, or as the tail of a path (`flash_sales/sold_out_gate.py`)."""
    from_doc = (doc.parent / name).resolve()
    return name in paths or from_doc.exists() or any(path.endswith("/" + name) for path in paths)


def _looks_like_a_module(name: str) -> bool:
    return re.fullmatch(rf"(?:{'|'.join(PACKAGES)})(?:\.\w+)+", name) is not None


def _importable(name: str) -> bool:
    """A module, or an attribute of one (`qunyun_shared.idempotency.Refusals`)."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(found, attribute):
                return False
            found = getattr(found, attribute)
        return True
    return False


def _repo_paths() -> Iterator[str]:
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS and not d.endswith(".egg-info")]
        base = Path(folder).relative_to(ROOT)
        for name in [*dirs, *files]:
            yield (base / name).as_posix()


def _anchors(doc: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown file, and its explicit `<a id>`s."""
    text = doc.read_text()
    headings = re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    slugs = {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}
    return slugs | set(re.findall(r'<a id="([^"]+)"', text))
