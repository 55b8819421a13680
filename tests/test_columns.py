"""Every column of the estimate table is described (bonkl.columns), and ``bonkl columns`` prints them."""

import fnmatch

import numpy as np

from bonkl.cli import main
from bonkl.columns import COLUMNS, describe
from bonkl.intervals import IntervalSettings
from bonkl.pool_table import estimate_table
from bonkl.pools import build_pools


def described(name: str) -> bool:
    for column in COLUMNS:
        for pattern in column.name.split(", "):
            pattern = pattern.replace("<col>", "*").replace("<div>", "*").replace("<a>", "*")
            if fnmatch.fnmatch(name, pattern):
                return True
    return False


def test_every_table_column_is_described():
    rng = np.random.default_rng(0)
    draws = rng.integers(0, 30, 200)
    pools = build_pools(np.repeat(["a", "b"], 100), np.log(np.full(30, 1 / 30))[draws], draws % 7, draws.astype(str))
    table = estimate_table(pools, [1, 2, 8], intervals=IntervalSettings(20), alphas=[0.5, 2])
    missing = [c for c in table.columns if not described(c)]
    assert not missing, missing
    assert all(c.estimates and c.kind for c in COLUMNS)


def test_bonkl_columns_prints_the_registry(capsys):
    assert main(["columns"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == describe().strip() and "upper bound on the KL in expectation only" in out


def test_sampler_and_evaluation_columns_are_described():
    rng = np.random.default_rng(1)
    draws = rng.integers(0, 30, 200)
    logprob = np.log(np.full(30, 1 / 30))[draws]
    pools = build_pools(
        np.repeat(["a", "b"], 100),
        logprob - 0.1,
        draws % 7,
        draws.astype(str),
        sampler_logprob=logprob,
        eval_reward=np.sin(draws),
    )
    table = estimate_table(pools, [1, 2, 8], intervals=IntervalSettings(20), alphas=[0.5])
    assert {"sampler_log_ratio_ci_low", "expected_eval_reward_ci_high"} <= set(table.columns)
    missing = [c for c in table.columns if not described(c)]
    assert not missing, missing
