"""The package's layers import only downward, and no modules import each other in a loop.

Layers, bottom up: the mathematics (the flat top-level modules), file handling (``bonkl.files``),
the language-model code and the plots (``lm``, ``plotting``), the applications (``audit``,
``claims``, ``cli``), the workflow glue and its results reader (``pipeline``, ``results``). Every
import is read from the source (function-level imports included), so a new upward import or a new
cycle fails here with the two modules named.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "bonkl"
LAYERS = {"files": 1, "lm": 2, "plotting": 2, "audit": 3, "claims": 3, "cli": 3, "pipeline": 4, "results": 4}
TOP = {"bonkl.__main__"}  # `python -m bonkl`: the entry point above everything


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every ``bonkl`` module that ``path`` imports, resolved to a module of the package."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # `from . import x`
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {t for t in found if t in MODULES and t != name}


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], 0) if len(parts) > 1 else 0


MODULES = {module_name(p) for p in PACKAGE.rglob("*.py")}
GRAPH = {module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}


def test_every_module_is_read():
    assert len(GRAPH) > 60 and "bonkl.pool_table" in GRAPH and "bonkl.files.tables" in GRAPH
    assert any(t.startswith("bonkl.files") for t in GRAPH["bonkl.lm.load"])  # imports are resolved


@pytest.mark.parametrize("module", sorted(set(GRAPH) - TOP))
def test_imports_run_downward(module):
    upward = sorted(t for t in GRAPH[module] if layer(t) > layer(module))
    assert not upward, f"{module} (layer {layer(module)}) imports a higher layer: {upward}"


def test_no_import_cycle():
    # Modules of the package import their own package's __init__ for names it hands on; that is not a
    # loop of code, so an edge into a package's __init__ from inside the package is left out.
    def edges(module):
        return {t for t in GRAPH[module] if not module.startswith(t + ".")}

    state: dict[str, int] = {}

    def visit(module, stack):
        state[module] = 1
        for target in edges(module):
            if state.get(target) == 1:
                cycle = stack[stack.index(target) :] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, stack + [target])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
