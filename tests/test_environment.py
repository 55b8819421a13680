"""environment.yml must list the core dependencies and every extra of pyproject.toml."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted |= {spec for spec in extra if not spec.startswith(f"{project['name']}[")}  # self-references
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    listed = {spec for spec in pip_section if not spec.startswith("-e")}
    assert listed == wanted, f"only in pyproject: {wanted - listed}; only in environment.yml: {listed - wanted}"


def test_extras_cover_the_workflow_and_the_tests():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras) == {"lm", "workflow", "notebooks", "test", "all"}
    assert extras["all"] == ["bonkl[lm,workflow,notebooks,test]"]
    assert "bonkl[lm]" in extras["workflow"]
