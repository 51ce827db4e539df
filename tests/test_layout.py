"""The shape of the code: no import cycle, small modules, simple functions, hwmodels a leaf."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dse", "hwmodels")
MAX_LINES = 400
MAX_COMPLEXITY = 15


def modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(name: str, path: Path, known: set[str], lazy: bool) -> set[str]:
    """Project modules `name` imports: at module level, or anywhere when `lazy`."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import) and (top or lazy):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom) and (top or lazy):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                found.add(base)
                found.update(f"{base}.{a.name}" for a in child.names)
            visit(child, inner)

    visit(ast.parse(path.read_text()), True)
    return {m for m in found if m in known and m != name}


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := walk(node)):
            return found
    return None


def test_no_import_cycle() -> None:
    """Counting imports inside functions too: a deferred import still ties two modules together."""
    mods = modules()
    graph = {name: imports(name, path, set(mods), lazy=True) for name, path in mods.items()}
    # a package's own __init__ importing its submodules is how packages export: not a cycle
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    assert cycle(graph) is None, " -> ".join(cycle(graph) or [])


def test_hwmodels_is_a_leaf() -> None:
    mods = modules()
    for name, path in mods.items():
        if name.startswith("hwmodels"):
            text = path.read_text()
            assert "import torch" not in text and "from dse" not in text and "import dse" not in text, name


@pytest.mark.parametrize("name", sorted(modules()))
def test_modules_are_small(name: str) -> None:
    assert len(modules()[name].read_text().splitlines()) <= MAX_LINES


def test_functions_are_simple() -> None:
    radon = pytest.importorskip("radon.complexity")
    worst = []
    for name, path in modules().items():
        for block in radon.cc_visit(path.read_text()):
            if block.complexity > MAX_COMPLEXITY:
                worst.append(f"{name}:{block.name} ({block.complexity})")
    assert not worst, worst
