"""The results layout is written once (bonkl.pipeline.paths): the rules write where it says, and
bonkl.results reads from there."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_helpers import REPO, copy_workflow, snakemake

from bonkl import results
from bonkl.pipeline import paths
from bonkl.pipeline.lm_targets import LMPlan
from bonkl.plotting.closed_form import FIGURES

MODEL = "tiny-random"


def test_rule_files_spell_no_results_path():
    """Every output under results/ comes from paths (comments may still describe the layout)."""
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        code = [line for line in smk.read_text().splitlines() if not line.lstrip().startswith("#")]
        assert not [line for line in code if "results/" in line], smk.name


def test_wildcards_are_the_defaults():
    assert paths.rewards(MODEL) == f"results/lm/{MODEL}/rewards/{{prompt_set}}/{{prompt_id}}/{{reward}}.parquet"
    assert paths.estimate(MODEL) == f"results/lm/{MODEL}/estimates/{{prompt_set}}/{{reward}}.parquet"
    variant = f"results/lm/{MODEL}/samplers/{{sampler}}"
    assert paths.samples(MODEL, sampler="{sampler}") == f"{variant}/samples/{{prompt_set}}/{{prompt_id}}.parquet"
    assert paths.estimate(MODEL, sampler="{sampler}") == f"{variant}/estimates/{{prompt_set}}/{{reward}}.parquet"
    assert paths.figure_files("f") == ["results/figures/f.png", "results/figures/f.pdf", "results/figures/f.csv"]
    with pytest.raises(ValueError, match="not below results/"):
        paths.below_results("logs/x.log")


@pytest.mark.workflow
def test_the_rules_write_exactly_the_files_of_the_layout(tmp_path):
    """A dry run of every job (tiny config): its outputs under results/ are what paths predicts."""
    from snakemake.utils import update_config, validate

    workdir = copy_workflow(tmp_path / "copy")
    dry = snakemake(workdir, "-n", "--forceall", "all", "--configfile", ".test/config_tiny/config.yaml").stdout
    written = {
        path
        for line in re.findall(r"(?m)^    output: (.*)$", dry)
        for path in line.split(", ")
        if path.startswith(f"{paths.RESULTS}/")
    }

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    update_config(config, yaml.safe_load((REPO / ".test" / "config_tiny" / "config.yaml").read_text()))
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"), set_default=True)
    for name, file in config["lm"]["prompt_sets"].items():
        config["lm"]["prompt_sets"][name] = str(REPO / file)
    plan = LMPlan(config)
    model = config["lm"]["model"]["name"]
    expected = {paths.CLAIMS_CSV, paths.CLAIMS_MD, paths.estimates_table(model), paths.summary_table(model)}
    expected |= {file for stem in FIGURES for file in paths.figure_files(stem)} | set(plan.figure_files())
    for label in plan.labels():
        expected |= set(plan.sample_files(label["prompt_set"]))
        expected |= set(plan.reward_files(**label))
        expected.add(paths.estimate(model, **label))
    expected |= set(plan.practice_files()) | set(plan.variant_estimate_files())  # sampler variants
    for name, variant in plan.samplers.items():
        expected |= set(plan.variant_sample_files(name))
        expected |= {file for reward in variant.rewards for file in plan.variant_reward_files(name, reward)}
    assert written == expected, (sorted(written - expected), sorted(expected - written))


@pytest.fixture
def repo(tmp_path) -> Path:
    """A repository holding the files the readers read, each where paths puts it."""
    (tmp_path / "Snakefile").touch()
    frames = {
        paths.CLAIMS_CSV: pd.DataFrame({"claim": ["Lemma 1"], "violations": [0]}),
        paths.figure("fig01_example1_kl", "csv"): pd.DataFrame({"n": [1, 2]}),
        paths.estimates_table(MODEL): pd.DataFrame({"n": [1], "kl_bon": [0.0]}),
        paths.samples(MODEL, "alpaca", "P1"): pd.DataFrame({"sample_index": [0, 1], "logprob": [-1.0, -2.0]}),
        paths.rewards(MODEL, "alpaca", "P1", "loglik"): pd.DataFrame({"sample_index": [0, 1], "reward": [1.0, 0.5]}),
        paths.rewards(MODEL, "alpaca", "P1", "chrf"): pd.DataFrame({"sample_index": [0, 1], "reward": [0.1, 0.2]}),
    }
    for relative, frame in frames.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".parquet":
            frame.to_parquet(path)
        else:
            frame.to_csv(path, index=False)
    return tmp_path


@pytest.mark.parametrize("root", ["repository", "results folder"])
def test_the_readers_read_where_the_rules_write(repo, root, monkeypatch):
    monkeypatch.delenv(results.ENV_MODEL, raising=False)
    root = repo if root == "repository" else repo / paths.RESULTS
    assert results.read_claims(root)["claim"].tolist() == ["Lemma 1"]
    assert results.read_figure_table("fig01_example1_kl", root)["n"].tolist() == [1, 2]
    assert results.list_models(root) == [MODEL] and results.resolve_model(None, root) == MODEL
    assert results.read_lm_table(None, root)["kl_bon"].tolist() == [0.0]
    assert results.read_samples(MODEL, "alpaca", "P1", root)["logprob"].tolist() == [-1.0, -2.0]
    assert results.read_rewards(MODEL, "alpaca", "P1", "chrf", root)["reward"].tolist() == [0.1, 0.2]
    assert results.list_rewards(MODEL, "alpaca", "P1", root) == ["chrf", "loglik"]


@pytest.mark.parametrize(
    "read, missing",
    [
        (lambda root: results.read_figure_table("fig99", root), paths.figure("fig99", "csv")),
        (lambda root: results.read_lm_table("other", root), paths.estimates_table("other")),
        (lambda root: results.read_samples(MODEL, "alpaca", "P9", root), paths.samples(MODEL, "alpaca", "P9")),
        (
            lambda root: results.read_rewards(MODEL, "alpaca", "P1", "nope", root),
            paths.rewards(MODEL, "alpaca", "P1", "nope"),
        ),
    ],
)
def test_a_missing_file_is_named_as_the_rules_write_it(repo, read, missing):
    with pytest.raises(FileNotFoundError, match=re.escape(f"{missing} is missing")):
        read(repo)
