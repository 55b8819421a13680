"""Engine noise between identical responses (``check_engine_logprobs``) and recorded against
recomputed values (``compare_logprobs``): pure pandas/numpy, on hand-made pools."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bonkl.lm.rescore import check_engine_logprobs, compare_logprobs, compare_rescored

POOL = pd.DataFrame(
    {
        "prompt_id": ["a", "a", "a", "b", "b", "a", "b"],
        "token_ids": [[1, 0], [1, 0], [2, 0], [1, 0], [1, 0], [1, 0], [3]],
        "sampler_logprob": [-1.0, -1.002, -2.0, -1.5, -1.5, -1.004, -0.5],
    }
)


def test_spread_per_group_and_canonical_first():
    check = check_engine_logprobs(POOL, tolerance=0.003)
    groups = check.groups.set_index(["prompt_id", "sample_key"])
    assert list(groups.columns) == ["draws", "spread", "canonical"]
    assert groups.loc[("a", "1 0"), "draws"] == 3 and groups.loc[("a", "1 0"), "spread"] == pytest.approx(0.004)
    assert groups.loc[("b", "1 0"), "spread"] == 0 and groups.loc[("a", "2 0"), "spread"] == 0
    assert len(groups) == 4  # same ids under another prompt: another response
    assert check.repeated == 2 and check.varied == 1 and check.above == 1 and not check.ok
    assert check.largest_spread == pytest.approx(0.004)
    assert groups.loc[("a", "1 0"), "canonical"] == -1.0  # the first draw in pool order
    assert check.canonical.tolist() == [-1.0, -1.0, -2.0, -1.5, -1.5, -1.0, -0.5]
    assert check.canonical.index.equals(POOL.index)
    assert check.summary()["above_tolerance"] == 1 and check.summary()["canonical"] == "first"


def test_canonical_mean_and_tolerance():
    pool = POOL.set_index(pd.Index([10, 11, 12, 13, 14, 15, 16]))  # canonical keeps the pool's index
    check = check_engine_logprobs(pool, tolerance=0.01, canonical="mean")
    assert check.ok and check.varied == 1
    assert check.canonical.loc[[10, 11, 15]].tolist() == pytest.approx([-1.002] * 3)
    assert check.canonical.index.equals(pool.index)


def test_other_column_and_bad_input():
    pool = POOL.rename(columns={"sampler_logprob": "engine"})
    assert check_engine_logprobs(pool, 0.0, column="engine").above == 1
    with pytest.raises(ValueError, match="lack column"):
        check_engine_logprobs(pool, 0.0)
    with pytest.raises(ValueError, match="canonical"):
        check_engine_logprobs(POOL, 0.0, canonical="median")
    with pytest.raises(ValueError, match="tolerance"):
        check_engine_logprobs(POOL, -1.0)
    with pytest.raises(ValueError, match="1 non-finite value.*row 2"):
        check_engine_logprobs(POOL.assign(sampler_logprob=[-1, -1, np.nan, -1, -1, -1, -1]), 0.0)


@pytest.mark.parametrize(
    ("shift", "pattern"),
    [
        (np.array([1e-6, -1e-6, 0, 1e-6]), "match"),
        (np.array([0.3, 0.2, 0.1, 0.5]), "higher"),
        (np.array([-0.3, -0.2, -0.1, 0]), "lower"),
        (np.array([0.3, -0.2, 0.1, -0.5]), "mixed"),
    ],
)
def test_comparison_patterns(shift, pattern):
    recomputed = np.array([-1.0, -2.0, -3.0, -4.0])
    c = compare_logprobs(recomputed + shift, recomputed, tolerance=1e-3)
    assert c.pattern == pattern and c.count == c.compared == 4 and c.outside_support == 0
    assert c.mean_difference == pytest.approx(shift.mean()) and c.max_abs_difference == pytest.approx(
        np.abs(shift).max()
    )
    assert c.positive == (shift > 0).sum() and c.negative == (shift < 0).sum()
    assert c.above_tolerance == (np.abs(shift) > 1e-3).sum()


def test_comparison_outside_support_and_shapes():
    c = compare_logprobs([-1.0, -2.0, -3.0], [-1.0, -np.inf, -3.5], tolerance=1e-3)
    assert c.compared == 2 and c.outside_support == 1 and c.max_abs_difference == 0.5
    assert c.as_dict()["pattern"] == "higher"
    empty = compare_logprobs([-1.0], [-np.inf], tolerance=1e-3)
    assert empty.compared == 0 and np.isnan(empty.mean_difference) and empty.pattern == "match"
    with pytest.raises(ValueError, match="one length"):
        compare_logprobs([-1.0, -2.0], [-1.0], tolerance=1e-3)


def test_compare_rescored_uses_the_columns_present():
    pool = pd.DataFrame({"logprob": [-1.0], "recorded_logprob": [-1.0], "sampler_logprob": [-0.5]})
    assert set(compare_rescored(pool, 1e-3)) == {"logprob"}
    pool["reference_sampler_logprob"] = [-0.7]
    assert compare_rescored(pool, 1e-3)["sampler_logprob"].pattern == "higher"
