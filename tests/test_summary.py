"""The average over prompts (bonkl.summary): the mean of the per-prompt rows, its standard error
and t interval across prompts, prompts with an empty estimate left out."""

import numpy as np
import pytest
from scipy import stats

from bonkl.pool_table import estimate_table
from bonkl.pools import build_pools
from bonkl.summary import averaged_columns, prompt_average


def table_of_pools(sizes, seed=0, alphas=None, ns=(1, 2, 4, 8, 16)):
    rng = np.random.default_rng(seed)
    p = np.arange(1, 41) ** -1.0
    p /= p.sum()
    reward = rng.permutation(40).astype(float)
    prompt, draws = [], []
    for i, size in enumerate(sizes):
        d = rng.choice(40, size, p=p)
        prompt += [f"q{i:02d}"] * size
        draws += list(d)
    draws = np.array(draws)
    pools = build_pools(prompt, np.log(p[draws]), reward[draws], draws.astype(str))
    return estimate_table(pools, list(ns), alphas=alphas)


def test_summary_is_the_mean_of_the_per_prompt_rows():
    table = table_of_pools([30] * 7, alphas=[0.5])
    summary = prompt_average(table, level=0.9)
    for column in averaged_columns(table):
        for _, row in summary.iterrows():
            values = table.loc[table["n"] == row["n"], column].to_numpy()
            assert row[column] == pytest.approx(values.mean(), rel=1e-12, abs=1e-15)
            se = values.std(ddof=1) / np.sqrt(values.size)
            assert row[f"{column}_se"] == pytest.approx(se, rel=1e-12, abs=1e-15)
            half = stats.t.ppf(0.95, values.size - 1) * se
            assert row[f"{column}_ci_high"] == pytest.approx(values.mean() + half, rel=1e-12, abs=1e-15)
    assert (summary["num_prompts"] == 7).all()
    assert "renyi_0.5" in summary and "renyi_0.5_bound" not in summary and "kl_estimator_q05" not in summary


def test_prompts_too_small_for_n_are_left_out_of_its_average():
    table = table_of_pools([30, 30, 10, 5], ns=(1, 4, 8, 16))
    summary = prompt_average(table).set_index("n")
    assert summary.loc[4, "num_prompts"] == 4 and summary.loc[8, "num_prompts"] == 3
    assert summary.loc[16, "num_prompts"] == 2
    kept = table[(table["n"] == 8) & (table["num_samples"] >= 8)]["kl_estimator_mean"]
    assert summary.loc[8, "kl_estimator_mean"] == pytest.approx(kept.mean(), rel=1e-12)
    assert summary.loc[4, "win_rate_num_prompts"] == 4  # the win rate needs n + 1 <= N: 5 draws suffice at n = 4


def test_grouped_average():
    table = table_of_pools([20] * 6)
    table["suite"] = np.where(table["prompt_id"] < "q03", "x", "y")
    summary = prompt_average(table, by=["suite"])
    assert set(summary["suite"]) == {"x", "y"} and (summary["num_prompts"] == 3).all()


def test_one_prompt_has_no_interval():
    summary = prompt_average(table_of_pools([20]))
    assert summary["kl_estimator_mean_se"].isna().all() and summary["kl_estimator_mean"].notna().all()


def test_summary_of_an_empty_n_is_nan_not_an_error():
    table = table_of_pools([5, 5], ns=(1, 8))
    row = prompt_average(table).set_index("n").loc[8]
    assert row["num_prompts"] == 0 and np.isnan(row["kl_estimator_mean"])
