"""Helpers of the workflow tests: copy the workflow (Snakefile, config/, workflow/, .test/), run Snakemake,
read its output.

The copy imports the ``bonkl`` that the tests import (the editable install, or ``PYTHONPATH``, which
the Snakemake subprocess inherits), so its code dependencies point at that ``src/bonkl``. The
scenarios of ``.test/`` keep the runs short.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from bonkl.plotting.closed_form import FIGURES

REPO = Path(__file__).resolve().parents[1]

# The scenario the tests build: .test/config_small on top of .test/config_tiny (closed forms on small
# grids, a short claims run, the tiny language model): the whole workflow in about a minute on 2 cores.
SCENARIO = (".test/config_tiny/config.yaml", ".test/config_small/config.yaml")


def merged(*configs: dict) -> dict:
    """Config mappings merged as Snakemake merges several --configfile: later keys win, mappings recursively."""
    out: dict = {}
    for config in configs:
        for key, value in config.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merged(out[key], value)
            else:
                out[key] = value
    return out


#: What the scenario's files set (on top of config/config.yaml).
SMALL_CONFIG = merged(*(yaml.safe_load((REPO / file).read_text()) for file in SCENARIO))

CLOSED_FORM_FIGURES = list(FIGURES)


def copy_workflow(dest: Path) -> Path:
    """Copy what the workflow needs (not results/, logs/ or .snakemake/) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "Snakefile", dest / "Snakefile")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("config", "workflow", ".test"):
        shutil.copytree(REPO / folder, dest / folder, ignore=ignore)
    return dest


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    """``snakemake ARGS`` in ``workdir``; stdout and stderr together in ``.stdout``."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-6000:]}")
    return result


def job_counts(output: str) -> dict[str, int]:
    """The "Job stats" table of a (dry) run: ``{rule: count}``, without the total; empty if nothing to do."""
    match = re.search(r"Job stats:\njob\s+count\n[-\s]+\n(.*?)\ntotal\s+\d+", output, re.S)
    if not match:
        return {}
    counts = {}
    for line in match.group(1).splitlines():
        name, count = line.split()
        counts[name] = int(count)
    return counts


@dataclass
class Built:
    workdir: Path
    configfiles: tuple[str, ...]
    seconds: float

    def path(self, relative: str) -> Path:
        return self.workdir / relative

    def config(self) -> dict:
        """The config its files set (to change and write as one file of a test's own)."""
        return merged(*(yaml.safe_load(self.path(file).read_text()) for file in self.configfiles))

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return snakemake(self.workdir, *args, check=check)
