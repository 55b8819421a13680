"""The package files a workflow script imports, followed through the package.

Snakemake reruns a job when its ``script:`` changes, but it does not see the modules that script
imports. So every rule that calls bonkl lists them as ``input: code=script_code("<its script>")``
(workflow/rules/common.smk): an edit to one of them (a newer file) reruns exactly the rules that
use it. The imports are read from the source (:mod:`ast`), in every form, at any depth;
tests/faults/test_code_dependencies.py checks the reading against Python's modulefinder on the real
package. The package's ``__init__.py`` is left out on purpose: it only re-exports, and a new export
must not rerun everything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

#: bonkl itself (the default package).
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def _module_at(stem: Path) -> Path | None:
    """The file of the module or package at ``stem`` (``stem.py`` or ``stem/__init__.py``)."""
    for candidate in (stem.with_suffix(".py"), stem / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_file(dotted: str, package: Path = PACKAGE_DIR) -> Path | None:
    """The file of a module named ``<package>.a.b``, or None (another package, or no such file)."""
    parts = dotted.split(".")
    if parts[0] != package.name:
        return None
    return _module_at(package.joinpath(*parts[1:]))


def _named_module(value: object, package: Path) -> list[Path]:
    """A string constant that names a module (``importlib.import_module("bonkl.lm.x")``)."""
    if isinstance(value, str) and "." in value and " " not in value:
        return [f for f in [module_file(value, package)] if f]
    return []


def _from_import(node: ast.ImportFrom, path: Path, package: Path) -> list[Path]:
    """``from . import x``, ``from .x import y``, ``from ..lm.x import y``, ``from bonkl.x import y``."""
    if node.level == 0:  # "from bonkl.kl import x": the same as "from .kl import x" at the top
        parts = (node.module or "").split(".")
        if parts[0] != package.name:
            return []
        base, module = package, ".".join(parts[1:]) or None
    else:
        base, module = path.parents[node.level - 1], node.module
    stem = base.joinpath(*module.split(".")) if module else base
    found = [f for f in [_module_at(stem)] if module and f]
    for alias in node.names:  # "from .pkg import module": the imported names may be modules
        submodule = _module_at(stem / alias.name)
        if submodule:
            found.append(submodule)
        elif not module and (stem / "__init__.py").is_file():
            found.append(stem / "__init__.py")  # "from . import name": defined in the package
    return found


def imported_files(path: Path, package: Path = PACKAGE_DIR) -> list[Path]:
    """The files of ``package`` that the file ``path`` imports directly (inside functions too)."""
    path = Path(path)
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Constant):
            found += _named_module(node.value, package)
        elif isinstance(node, ast.Import):  # "import bonkl", "import bonkl.kl"
            found += [f for alias in node.names if (f := module_file(alias.name, package))]
        elif isinstance(node, ast.ImportFrom):
            found += _from_import(node, path, package)
    return found


def shown(path: Path, cwd: Path | None = None) -> str:
    """``path`` relative to the working directory when below it (the usual editable install),
    absolute otherwise (a test's temporary copy of the workflow)."""
    try:
        return str(path.relative_to((cwd or Path.cwd()).resolve()))
    except ValueError:
        return str(path)


def _closure(start: Iterable[Path], data: Iterable[str], package: Path) -> list[Path]:
    """``start`` and every package file it imports, transitively, then the data files."""
    todo, seen = list(start), set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        if not path.is_file():
            raise ValueError(f"package_code: {path} is not a file of {package.name}")
        seen.add(path)
        todo += imported_files(path, package)
    return sorted(seen - {package / "__init__.py"}) + [package / name for name in data]


def package_files(*modules: str, package: Path = PACKAGE_DIR) -> list[Path]:
    """The modules of ``package`` (paths like ``"kl.py"``) and every module they import from it."""
    return _closure([package / name for name in modules], (), package)


def package_code(*modules: str, data: Iterable[str] = (), package: Path = PACKAGE_DIR) -> list[str]:
    """The files of ``package`` (paths like ``"kl.py"``, ``"plotting/closed_form.py"``) that a rule
    uses, with every module they import from the package, and its data files (``data``)."""
    return [shown(p) for p in _closure([package / name for name in modules], data, package)]


def script_code(script: Path, data: Iterable[str] = (), package: Path = PACKAGE_DIR) -> list[str]:
    """What a rule running ``script`` depends on in ``package``: derived from the script itself,
    so a rule cannot forget a module its script uses."""
    return [shown(p) for p in _closure(imported_files(script, package), data, package)]
