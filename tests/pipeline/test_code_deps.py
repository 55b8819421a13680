"""The import walker of bonkl.pipeline.code_deps on small packages written for each test: one case
per import form. (tests/faults/test_code_dependencies.py checks it on bonkl itself.)"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bonkl.pipeline.code_deps import imported_files, module_file, package_code, script_code, shown


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def root(tmp_path) -> Path:
    """A folder holding the package ``pkg``: modules a, b, lazy and subpackages sub/, lm/, pipeline/."""
    return write(
        tmp_path,
        {
            "pkg/__init__.py": "from .a import f\nNAME = 1\n",
            "pkg/a.py": "import os\nimport numpy as np\n\ndef f():\n    return 1\n",
            "pkg/b.py": "",
            "pkg/lazy.py": "",
            "pkg/sub/__init__.py": "",
            "pkg/sub/module.py": "",
            "pkg/lm/__init__.py": "",
            "pkg/lm/x.py": "",
            "pkg/pipeline/__init__.py": "",
            "pkg/pipeline/step.py": "",
        },
    )


def imports(root: Path, source: str, at: str = "pkg/pipeline/step.py") -> set[str]:
    """The package files (relative to the package) that ``source``, written at ``at``, imports."""
    path = root / at
    path.write_text(textwrap.dedent(source))
    return {str(p.relative_to(root / "pkg")) for p in imported_files(path, root / "pkg")}


@pytest.mark.parametrize(
    "source, at, expected",
    [
        ("from . import a\n", "pkg/b.py", {"a.py"}),
        ("from . import NAME\n", "pkg/b.py", {"__init__.py"}),  # a name defined in the package
        ("from .a import f\n", "pkg/b.py", {"a.py"}),
        ("from ..lm.x import y\n", "pkg/pipeline/step.py", {"lm/x.py"}),
        ("from .. import b\n", "pkg/pipeline/step.py", {"b.py"}),
        ("import pkg.a\n", "pkg/b.py", {"a.py"}),
        ("import pkg\n", "pkg/b.py", {"__init__.py"}),
        ("from pkg.a import f\n", "pkg/b.py", {"a.py"}),
        ("from pkg import sub\n", "pkg/b.py", {"sub/__init__.py"}),
        ("from .sub import module\n", "pkg/b.py", {"sub/__init__.py", "sub/module.py"}),
        ("def g():\n    from .a import f\n    return f\n", "pkg/b.py", {"a.py"}),  # inside a function
        ("import importlib\nM = importlib.import_module('pkg.lazy')\n", "pkg/b.py", {"lazy.py"}),
        ("TEXT = 'pkg.lazy is lazy. pkg.b'\nOTHER = 'other.lazy'\n", "pkg/b.py", set()),  # prose, other packages
        ("import os\nimport numpy.linalg\nfrom os import path\n", "pkg/b.py", set()),
        ("from pkg.absent import x\nimport pkg.gone\n", "pkg/b.py", set()),  # no such file: nothing to depend on
    ],
)
def test_each_import_form(root, source, at, expected):
    assert imports(root, source, at) == expected


def test_module_file(root):
    assert module_file("pkg.sub", root / "pkg") == root / "pkg/sub/__init__.py"
    assert module_file("pkg.lm.x", root / "pkg") == root / "pkg/lm/x.py"
    assert module_file("pkg.nope", root / "pkg") is None
    assert module_file("other.a", root / "pkg") is None


def test_closure_follows_cycles_and_leaves_init_out(root, monkeypatch):
    write(root, {"pkg/a.py": "from . import b\n", "pkg/b.py": "from .a import f\nimport pkg\n"})
    monkeypatch.chdir(root)
    assert package_code("a.py", package=root / "pkg") == ["pkg/a.py", "pkg/b.py"]


def test_script_outside_the_package_with_data_files(root, monkeypatch):
    write(root, {"scripts/run.py": "import pkg\nfrom pkg.pipeline.step import g\n", "pkg/style.txt": ""})
    write(root, {"pkg/pipeline/step.py": "def g():\n    from ..lm import x\n"})
    monkeypatch.chdir(root)
    # pkg/__init__.py is followed (a.py) but not listed; the data file comes last.
    assert script_code(root / "scripts/run.py", data=["style.txt"], package=root / "pkg") == [
        "pkg/a.py",
        "pkg/lm/__init__.py",
        "pkg/lm/x.py",
        "pkg/pipeline/step.py",
        "pkg/style.txt",
    ]


def test_paths_are_shown_relative_to_the_working_directory_only_below_it(root, tmp_path_factory):
    inside, elsewhere = root / "pkg/a.py", tmp_path_factory.mktemp("elsewhere")
    assert shown(inside, cwd=root) == "pkg/a.py"
    assert shown(inside, cwd=elsewhere) == str(inside)


def test_a_module_that_is_not_there_is_an_error(root):
    with pytest.raises(ValueError, match=r"nope\.py is not a file of pkg"):
        package_code("a.py", "nope.py", package=root / "pkg")
