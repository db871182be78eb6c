"""The layout shows the architecture: four packages, a pure core, and no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "assistant"
PACKAGES = ("session", "speech", "journal", "cli")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every ``assistant`` module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("assistant")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("assistant"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    return {name: {m for m in _imports(path) if m in files and m != name} for name, path in files.items()}


GRAPH = _graph()


def test_each_package_says_what_lives_there() -> None:
    for package in PACKAGES:
        doc = ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text()))
        assert doc and len(doc.splitlines()) <= 5, package


@pytest.mark.parametrize("forbidden", ["assistant.speech", "assistant.journal", "assistant.cli"])
def test_the_session_core_imports_no_edge(forbidden: str) -> None:
    offenders = {name: sorted(m for m in deps if m.startswith(forbidden))
                 for name, deps in GRAPH.items() if name.startswith("assistant.session")}
    assert not {k: v for k, v in offenders.items() if v}


def test_the_journal_imports_neither_speech_nor_the_engine() -> None:
    for name, deps in GRAPH.items():
        if name.startswith("assistant.journal"):
            assert not {m for m in deps if m.startswith(("assistant.speech", "assistant.cli"))}, name
            assert "assistant.session.engine" not in deps, name


def test_no_import_cycles() -> None:
    # a package's __init__ re-exporting its own modules is not a cycle between modules
    graph = {n: {m for m in deps if not n.startswith(m + ".")} for n, deps in GRAPH.items()}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in graph[node]:
            if state.get(dep) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path[path.index(dep):], dep]))
            if dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
