"""The language-model stages end to end on the tiny random model (.test/config_tiny/config.yaml's lm section)."""

from __future__ import annotations

from math import comb

import numpy as np
import pandas as pd
import pytest
import yaml
from workflow_helpers import SMALL_CONFIG, copy_workflow, job_counts, snakemake, write_config

import bonkl

pytestmark = pytest.mark.workflow

LM = SMALL_CONFIG["lm"]
ROOT = f"results/lm/{LM['model']['name']}"
FIGURES = [
    "fig04_alpaca_loglik",
    "fig05_alpaca_neg_length",
    "fig10_translation_loglik",
    "fig11_translation_neg_length",
    "fig12_translation_chrf",
]
LM_BAND = 1.0  # config lm.estimate.tilt (default)


def test_every_lm_figure_is_built(built):
    for stem in FIGURES:
        for ext in ("png", "pdf", "csv"):
            assert built.path(f"results/figures/{stem}.{ext}").stat().st_size > 0


def test_samples_table_has_the_promised_columns(built):
    samples = pd.read_parquet(built.path(f"{ROOT}/samples/alpaca/P3.parquet"))
    assert list(samples.columns) == [
        "prompt_id",
        "sample_index",
        "token_ids",
        "text",
        "logprob",
        "sampler_logprob",
        "num_tokens",
        "finished",
    ]
    assert len(samples) == LM["sampling"]["num_samples"]
    assert samples["sample_index"].tolist() == list(range(len(samples)))
    assert samples["logprob"].dtype == np.float64 and (samples["logprob"] <= 0).all()
    assert samples["sampler_logprob"].equals(samples["logprob"])  # no sampler setting: q is pi
    assert (samples["num_tokens"] == samples["token_ids"].map(len)).all()
    keys = samples["token_ids"].map(tuple)
    assert samples.groupby(keys)["logprob"].nunique().max() == 1  # one outcome, one log-probability


def test_estimates_match_an_independent_pool_computation(built):
    """Recompute Figure 4's numbers for one prompt from the samples, with integer subset counts
    (math.comb) and bonkl's per-draw formulas: the unbiased average over all n-subsets of the pool."""
    samples = pd.read_parquet(built.path(f"{ROOT}/samples/alpaca/P1.parquet"))
    keys = samples["token_ids"].map(tuple)
    outcomes = samples.groupby(keys).agg(count=("logprob", "size"), logprob=("logprob", "first"))
    outcomes = outcomes.sort_values("logprob")  # loglik reward; equal values tie (broken at random)
    eps = np.exp(outcomes["logprob"].to_numpy())
    level = np.unique(outcomes["logprob"].to_numpy(), return_inverse=True)[1]
    level_draws = np.bincount(level, weights=outcomes["count"].to_numpy()).astype(int)
    level_eps = np.bincount(level, weights=eps)
    size = len(samples)
    figure = pd.read_csv(built.path("results/figures/fig04_alpaca_loglik.csv")).query("prompt_id == 'P1'")
    for _, row in figure.iterrows():
        n = int(row["n"])
        upper = np.cumsum(level_draws)
        level_weight = np.array(
            [(comb(int(a), n) - comb(int(a - m), n)) / comb(size, n) for a, m in zip(upper, level_draws)]
        )
        pin = level_weight[level] * outcomes["count"].to_numpy() / level_draws[level]
        assert row["kl_bon"] == pytest.approx(bonkl.kl_bon(n), rel=1e-12)
        level_mass = level_eps[level]  # eq. 25 and eq. 23 at the winner's reward level (ties at random)
        assert row["kl_estimator_mean"] == pytest.approx(pin @ bonkl.kl_estimator(level_mass, n), rel=1e-9, abs=1e-12)
        assert row["kl_alternate"] == pytest.approx(pin @ bonkl.kl_alternate(level_mass, n), rel=1e-9, abs=1e-12)
        above = np.append(np.cumsum(level_eps[::-1])[::-1][1:], 0.0)  # samples' mass ranked above
        mass, cdf = level_eps[level], np.maximum(1 - above, level_eps)[level]
        bound = max(pin @ bonkl.kl_log_ratio(mass, cdf, n), 0.0)
        assert row["kl_corollary_4_2_bound"] == pytest.approx(bound, rel=1e-9, abs=1e-12)
        assert row["kl_corollary_4_2_bound"] <= row["kl_alternate"] + 1e-12
        values = bonkl.kl_estimator(level_mass, row["n"])
        assert row["kl_estimator_tilted_min"] == pytest.approx(
            bonkl.tilted_mean(values, -LM_BAND, pin), rel=1e-9, abs=1e-12
        )
        assert row["kl_estimator_tilted_max"] == pytest.approx(
            bonkl.tilted_mean(values, LM_BAND, pin), rel=1e-9, abs=1e-12
        )
        assert (
            row["kl_estimator_tilted_min"] <= row["kl_estimator_mean"] + 1e-12 <= row["kl_estimator_tilted_max"] + 2e-12
        )
        assert 0 <= row["kl_estimator_mean"] <= row["kl_bon"] + 1e-12  # Lemma 4.5


def test_neg_length_and_chrf_rewards(built):
    samples = pd.read_parquet(built.path(f"{ROOT}/samples/translation/P1.parquet"))
    length = pd.read_parquet(built.path(f"{ROOT}/rewards/translation/P1/neg_length.parquet"))
    cut = ~samples["finished"].to_numpy()
    assert (length["reward"].to_numpy() == -(samples["num_tokens"].to_numpy() + cut)).all()
    chrf = pd.read_parquet(built.path(f"{ROOT}/rewards/translation/P1/chrf.parquet"))
    assert chrf["reward"].between(0, 100).all()


def test_tidy_table_and_summary_have_every_prompt_reward_and_n(built):
    table = pd.read_csv(built.path(f"{ROOT}/tables/estimates.csv"))
    expected = 4 * 2 + 4 * 3  # alpaca: 2 rewards; translation: 3 rewards
    assert table.groupby(["prompt_set", "prompt_id", "reward"]).ngroups == expected
    assert (table["tilt"] == LM_BAND).all()
    assert sorted(table["n"].unique()) == sorted(LM["n"])
    summary = pd.read_csv(built.path(f"{ROOT}/tables/summary.csv"))
    assert len(summary) == 5 * len(LM["n"]) and (summary["num_prompts"] == 4).all()
    part = table[(table["prompt_set"] == "alpaca") & (table["reward"] == "loglik") & (table["n"] == 2)]
    row = summary[(summary["prompt_set"] == "alpaca") & (summary["reward"] == "loglik") & (summary["n"] == 2)]
    assert row["kl_estimator_mean"].iloc[0] == pytest.approx(part["kl_estimator_mean"].mean(), rel=1e-12)
    figure = pd.read_csv(built.path("results/figures/fig04_alpaca_loglik.csv"))
    assert (figure["prompt_id"] == "average over prompts").sum() == len(LM["n"])


def test_second_run_has_nothing_to_do(built):
    dry = built.run("-n", "all", "--configfile", *built.configfiles)
    assert job_counts(dry.stdout) == {}, dry.stdout[-3000:]


def test_lm_plot_option_redraws_only_lm_figures(built, tmp_path):
    config = built.config()
    config["lm"]["plot"] = {"panel_width": 2.0}
    write_config(built.path("plotchange.yaml"), config)
    dry = built.run("-n", "all", "--configfile", "plotchange.yaml")
    assert job_counts(dry.stdout) == {"all": 1, "lm_figure_plot": len(FIGURES)}, dry.stdout[-3000:]


def test_tilt_change_skips_sampling_and_scoring(built):
    config = built.config()
    config["lm"].setdefault("estimate", {})["tilt"] = 4.0
    write_config(built.path("tiltchange.yaml"), config)
    counts = job_counts(built.run("-n", "all", "--configfile", "tiltchange.yaml").stdout)
    rules = {"all", "estimate", "aggregate", "lm_figure_data", "lm_figure_plot"}
    assert set(counts) == rules | {"estimate_variant", "practice_data", "practice_plot"}, counts


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda c: c["lm"].update(prompt_sets={"alpaca": "config/prompts/missing.yaml"}),
            "prompt file config/prompts/missing.yaml does not exist",
        ),
        (lambda c: c["lm"].update(rewards={"alpaca": ["loglik", "bleu"]}), "lm.rewards.alpaca"),
        (lambda c: c["lm"]["model"].update(provide="none", path="./no/such/model"), "lm.model.path './no/such/model'"),
        (lambda c: c["lm"].setdefault("estimate", {}).update(tilt=0), "lm.estimate.tilt"),
        (lambda c: c["lm"]["sampling"].update(num_samples=0), "lm.sampling.num_samples"),
        (lambda c: c["lm"].update(n=[1, 2, 1000]), "config lm.n has 1000, larger than the pool allows"),
        (lambda c: c["lm"].update(n=[1, 2.5]), "config lm.n has 2.5: the unbiased estimate"),
    ],
)
def test_bad_lm_config_fails_before_any_job(tmp_path, change, message):
    workdir = copy_workflow(tmp_path / "wf")
    config = yaml.safe_load(yaml.safe_dump(SMALL_CONFIG))
    change(config)
    write_config(workdir / "bad.yaml", config)
    result = snakemake(workdir, "--cores", "1", "all", "--configfile", "bad.yaml", check=False)
    assert result.returncode != 0
    assert message in result.stdout, result.stdout[-3000:]
    assert not (workdir / "results").exists() and not (workdir / "resources").exists()
