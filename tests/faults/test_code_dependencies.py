"""The workflow's code dependencies (bonkl.pipeline.code_deps) against an independent reading of the imports.

The walker reads the source (ast); this test reads the compiled bytecode of every module and
script with Python's own modulefinder (every IMPORT_NAME, in functions too). A module the bytecode
imports but the walker misses would let an edit to it rerun nothing."""

from __future__ import annotations

import modulefinder
import re
import types
from pathlib import Path

import pytest
from fault_helpers import REPO

import bonkl
from bonkl.pipeline import code_deps

PACKAGE = Path(bonkl.__file__).resolve().parent
MODULES = sorted(PACKAGE.rglob("*.py"))
SCRIPTS = sorted((REPO / "workflow" / "scripts").glob("*.py"))


def _module_file(dotted: str) -> Path | None:
    parts = dotted.split(".")
    if parts[0] != "bonkl":
        return None
    stem = PACKAGE.joinpath(*parts[1:])
    for candidate in (stem.with_suffix(".py"), stem / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["bonkl", *parts])


def bytecode_imports(path: Path) -> set[Path]:
    """The bonkl files a file imports, from its bytecode (every nested code object)."""
    finder = modulefinder.ModuleFinder()
    inside = path.is_relative_to(PACKAGE)
    package = _dotted(path) if path.name == "__init__.py" else _dotted(path).rpartition(".")[0] if inside else ""
    found = set()
    todo = [compile(path.read_text(), str(path), "exec")]
    while todo:
        code = todo.pop()
        todo += [c for c in code.co_consts if isinstance(c, types.CodeType)]
        for what, args in finder.scan_opcodes(code):
            if what == "store":
                continue
            level, fromlist, name = args if what == "relative_import" else (0, *args)
            base = package
            for _ in range(max(level - 1, 0)):
                base = base.rpartition(".")[0]
            module = f"{base}.{name}".strip(".") if level else name
            # "from m import a, b": a and b are modules of m, or names defined in m (then m counts)
            items = [f"{module}.{item}" for item in (fromlist or ()) if item != "*"]
            submodules = {f for f in map(_module_file, items) if f is not None}
            if len(submodules) < len(items) or not items:
                submodules |= {f for f in [_module_file(module)] if f is not None}
            found |= submodules
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_walker_sees_every_import_of_every_module(path):
    walker = set(code_deps.imported_files(path))
    missed = bytecode_imports(path) - walker - {path}
    assert not missed, f"{path.name}: the walker misses {sorted(map(str, missed))}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_rule_depends_on_what_its_script_imports(script):
    declared = {Path(p).resolve() for p in code_deps.script_code(script)}
    closure, todo = set(), list(bytecode_imports(script))
    while todo:  # follow the package's own imports from there
        path = todo.pop()
        if path not in closure:
            closure.add(path)
            todo += bytecode_imports(path)
    closure.discard(PACKAGE / "__init__.py")  # left out on purpose: it only re-exports
    assert not closure - declared, f"{script.name}: its rule misses {sorted(map(str, closure - declared))}"


def test_lazy_imports_by_name_are_followed():
    found = set(code_deps.imported_files(PACKAGE / "__init__.py"))
    assert {PACKAGE / "lm" / "sampling.py", PACKAGE / "lm" / "load.py"} <= found


# The model is data: a rule that reran on every edit of load.py would download it again.
EXEMPT = {"provide_model"}


def test_every_rule_names_its_own_script():
    """Each rule's code input is derived from the script it runs (no hand-kept module list); a
    `use rule X as Y with:` runs X's script, and restates X's code input if it restates any."""
    blocks = [
        (smk.name, block)
        for smk in sorted((REPO / "workflow" / "rules").glob("*.smk"))
        for block in re.split(r"(?m)^(?=[ \t]*(?:use )?rule \w+)", smk.read_text())[1:]
    ]
    parents = dict(re.match(r"\s*use rule (\w+) as (\w+)", b).group(2, 1) for _, b in blocks if "use rule" in b[:20])
    scripts = {}
    for _, block in blocks:
        script = re.search(r'"\.\./scripts/([\w.]+\.py)"', block)
        if script and not block.lstrip().startswith("use rule"):
            scripts[re.match(r"\s*rule (\w+):", block).group(1)] = script.group(1)
    for file, block in blocks:
        if block.lstrip().startswith("use rule"):
            name = re.match(r"\s*use rule \w+ as (\w+)", block).group(1)
            while name in parents:
                name = parents[name]
            uses = re.findall(r'script_code\("([\w.]+\.py)"', block)
            assert uses in ([], [scripts[name]]), f"{file}: {block.splitlines()[0]}"
            continue
        script = re.search(r'"\.\./scripts/([\w.]+\.py)"', block)
        name = re.match(r"\s*rule (\w+):", block).group(1)
        if script is None or name in EXEMPT or "bonkl" not in (REPO / "workflow/scripts" / script.group(1)).read_text():
            continue
        uses = re.findall(r'script_code\("([\w.]+\.py)"', block) or (["plot_figure.py"] if "PLOT_CODE" in block else [])
        assert uses == [script.group(1)], f"{file}: {block.splitlines()[0]}"
        assert "package_code(" not in block, f"{file}: {block.splitlines()[0]}"
