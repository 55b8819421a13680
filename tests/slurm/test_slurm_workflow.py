"""The workflow through Slurm: a one-node cluster (cluster.py), the small config, the profile
workflow/profiles/slurm. The jobs must go through Slurm, and the figures' numbers must equal a local
run's (the session's `built` workflow, same config).

Needs root, Slurm and munge (`.ci/slurm-setup.sh`) and the executor plugin; skips otherwise.
Run alone: `pytest -m slurm -s tests/slurm` (prints the wall times and the jobs).
"""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from cluster import missing_programs, one_node_slurm
from workflow_helpers import SMALL_CONFIG, Built, copy_workflow, job_counts, snakemake, write_config

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

PROFILE = "workflow/profiles/slurm"
CLUSTER_RULES = {"sample", "sample_variant", "claims_table"}  # the Snakefile's CLUSTER_RULES that run here
# Every table a figure is drawn from: the figures' CSVs and the language model's tables.
NUMBERS = ["results/figures/*.csv", "results/lm/*/tables/*.csv"]


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (it starts munged, slurmctld and slurmd)"
    if missing := missing_programs():
        return f"Slurm is not installed (no {', '.join(missing)}): run .ci/slurm-setup.sh as root"
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "the Slurm executor plugin is not installed: pip install 'snakemake-executor-plugin-slurm>=2.8,<3'"
    return None


@dataclass
class SlurmRun:
    workdir: Path
    seconds: float
    jobs: list[dict[str, str]]  # squeue's view of every job of the run: id, state, GPUs, comment
    second_run: str
    local: Built  # the session's local run of the same config


def _slurm_jobs(cluster) -> list[dict[str, str]]:
    fields = ["JobID", "State", "tres-per-job", "Comment"]
    out = cluster.command("squeue", "--states=all", "--noheader", "--Format=" + ",".join(f"{f}:200" for f in fields))
    return [dict(zip(fields, line.split())) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def through_slurm(request, tmp_path_factory) -> SlurmRun:
    """The small config built through Slurm with the profile; the cluster is gone when tests run."""
    if reason := _skip_reason():
        pytest.skip(reason)
    local = request.getfixturevalue("built")  # asked for here, so a skip does not build it first
    config = yaml.safe_load(yaml.safe_dump(SMALL_CONFIG))  # the scenario's files, as one
    config["lm"]["resources"]["gpu"] = 1  # the node's fake GPUs: the request must reach Slurm
    workdir = copy_workflow(tmp_path_factory.mktemp("slurm-workflow"))
    write_config(workdir / "small.yaml", config)
    with one_node_slurm(tmp_path_factory.mktemp("slurm-cluster")) as cluster, pytest.MonkeyPatch.context() as patch:
        for name in ("SLURM_CONF", "PATH"):
            patch.setenv(name, cluster.env[name])
        started = time.perf_counter()
        try:
            snakemake(workdir, "--profile", PROFILE, "all", "--configfile", "small.yaml", timeout=900)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{cluster.logs()}") from None
        seconds = time.perf_counter() - started
        second = snakemake(workdir, "--profile", PROFILE, "-n", "all", "--configfile", "small.yaml").stdout
        jobs = _slurm_jobs(cluster)  # squeue keeps finished jobs for MinJobAge (an hour here)
    return SlurmRun(workdir, seconds, jobs, second, local)


def _rule(job: dict[str, str]) -> str:
    """The rule of a job, from the comment the plugin gives it ("rule_sample_wildcards_...")."""
    return job["Comment"].split("_wildcards")[0].removeprefix("rule_")


def test_cluster_rules_ran_as_slurm_jobs(through_slurm, capsys):
    jobs = through_slurm.jobs
    rules = sorted(_rule(job) for job in jobs)
    with capsys.disabled():  # the measurement, shown even when pytest captures output
        counts = ", ".join(f"{rule} {rules.count(rule)}" for rule in sorted(set(rules)))
        print(
            f"\n[slurm] small config: {through_slurm.seconds:.0f} s through Slurm, "
            f"{through_slurm.local.seconds:.0f} s locally "
            f"(--cores 2); Slurm ran {len(jobs)} jobs ({counts}), states {sorted({j['State'] for j in jobs})}"
        )
    assert jobs and all(job["State"] == "COMPLETED" for job in jobs), jobs
    assert set(rules) == CLUSTER_RULES, rules
    prompts = len(
        list(through_slurm.local.path(f"results/lm/{SMALL_CONFIG['lm']['model']['name']}/samples").glob("*/*.parquet"))
    )
    assert rules.count("sample") == prompts and rules.count("claims_table") == 1


def test_sampling_jobs_got_their_gpu(through_slurm):
    gpus = {job["tres-per-job"] for job in through_slurm.jobs if _rule(job) == "sample"}
    assert gpus == {"gres:gpu:1"}, gpus


def test_second_run_has_nothing_to_do(through_slurm):
    assert job_counts(through_slurm.second_run) == {}, through_slurm.second_run[-3000:]


def _tables(root: Path) -> dict[str, pd.DataFrame]:
    return {str(p.relative_to(root)): pd.read_csv(p) for pattern in NUMBERS for p in sorted(root.glob(pattern))}


def test_numbers_equal_the_local_run(through_slurm):
    """Every CSV a figure is drawn from, whatever its columns, equals the local run's."""
    local, slurm = _tables(through_slurm.local.workdir), _tables(through_slurm.workdir)
    assert local and sorted(slurm) == sorted(local)
    for name, table in local.items():
        pd.testing.assert_frame_equal(slurm[name], table, check_exact=False, rtol=1e-12, atol=0, obj=name)
