"""Helpers of the workflow tests: copy the workflow (Snakefile, config/, workflow/), run Snakemake, read its output.

The copy imports the installed ``bonkl`` (the editable install of this repository), so its code
dependencies point at this repository's ``src/bonkl``. A small config keeps the run short.
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

# Small grids and a short claims run: the whole workflow in well under a minute on 2 cores.
SMALL_CONFIG = {
    "example1_kl": {"n_max": 256, "num_n": 20},
    "uniform": {"alphabet_sizes": [10, 100], "n_max": 2000, "num_n": 25},
    "top_outcomes": {
        "n_max": 100000,
        "num_n": 25,
        "tilt": 2.0,
        "panels": {
            "a": {"alphabet_size": 20, "top_masses": [1e-3]},
            "b": {"alphabet_size": 10, "top_masses": [1e-4, 1e-2]},
        },
    },
    "example1_tradeoff": {"n_max": 256, "num_n": 20},
    "example2": {"masses": [0.6, 0.3, 0.1], "num_n": 30, "num_q": 40, "num_beta": 30},
    "example3": {"num_points": 30},
    "beyond_paper": {"num_points": 15, "many_outcomes": {"alphabet_size": 30}},
    "claims": {"num_models": 50, "mc_draws": 10000, "threads": 2},
    "plot": {"dpi": 72},
    # The language-model stages on the tiny random model the workflow writes itself (no download).
    "lm": yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())["lm"],
}

CLOSED_FORM_FIGURES = list(FIGURES)


def copy_workflow(dest: Path) -> Path:
    """Copy what the workflow needs (not results/, logs/ or .snakemake/) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "Snakefile", dest / "Snakefile")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("config", "workflow"):
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
    configfile: str
    seconds: float

    def path(self, relative: str) -> Path:
        return self.workdir / relative

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return snakemake(self.workdir, *args, check=check)
