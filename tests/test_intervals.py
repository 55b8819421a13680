"""Intervals (bonkl.intervals): a reduced run of the coverage study, and the pivot's parts.

The full study (``benchmarks/coverage_study.py``, docs/coverage.md) runs 1,000 pools per cell on
seven models and three pool sizes; here three models at N = 64 with 200 pools each, so a cell's
coverage has a binomial standard error of about 0.02 around its level.
"""

import numpy as np
import pytest

from bonkl import intervals as ci
from bonkl.coverage import coverage, exact_values, study_models, study_ns
from bonkl.intervals import IntervalSettings


@pytest.fixture(scope="module")
def reduced_study():
    settings = IntervalSettings(replicates=100)
    import pandas as pd

    return pd.concat(
        [coverage(name, 64, 200, settings, seed=11) for name in ("zipf200", "loglik", "heavy_ties")], ignore_index=True
    )


def test_every_reported_interval_holds_its_level(reduced_study):
    """Nominal 0.90: within [0.80, 0.99] in every cell with at least 100 intervals (the study's
    window [0.85, 0.97] widened by 2.5 binomial standard errors of 200 pools)."""
    shown = reduced_study[reduced_study["reported"] >= 100]
    assert len(shown) >= 20
    bad = shown[(shown["coverage"] < 0.80) | (shown["coverage"] > 0.99)]
    assert bad.empty, bad.to_string()


def test_intervals_are_reported_for_n_up_to_n_over_8_and_never_beyond(reduced_study):
    small = reduced_study[(reduced_study["n"] > 1) & (reduced_study["n"] <= 8)]
    # expected reward and win rate on every model; eq. 25/23 except under heavy reward ties
    must = small[(small["model"] != "heavy_ties") | small["column"].isin(["expected_reward", "win_rate"])]
    assert (must["reported"] >= 190).all(), must.to_string()
    assert (reduced_study.loc[reduced_study["n"] > 8, "reported"] == 0).all()
    ties = small[(small["model"] == "heavy_ties") & small["column"].str.startswith("kl_")]
    assert (ties["reported"] == 0).all()


def test_study_targets_are_the_models_best_of_n_values():
    """At n = 1 best-of-n is the model: the expected reward is the reward's mean, the win rate 1/2,
    the KL columns 0; they grow with n."""
    p, reward = study_models()["zipf200"]
    values = exact_values(p, reward, study_ns(64))
    assert values["expected_reward"][0] == pytest.approx(float(p @ reward), rel=1e-12)
    assert values["win_rate"][0] == pytest.approx(0.5, abs=1e-12)
    assert values["kl_estimator_mean"][0] == 0.0
    assert np.all(np.diff(values["expected_reward"]) > 0) and np.all(np.diff(values["kl_estimator_mean"]) > 0)


def test_studentized_pivot_is_centred_on_the_resamples_target():
    """t* = (U* - theta*)/s*: resamples that sit exactly on theta* give t* = 0 and the interval
    U -+ 0; shifting the target moves the interval the other way."""
    estimate, error = np.array([1.0]), np.array([0.1])
    boot = np.full((99, 1), 2.0)
    boot_error = np.full((99, 1), 0.5)
    low, high = ci.studentized(estimate, error, boot, boot_error, np.array([2.0]), 0.9)
    assert low[0] == pytest.approx(1.0) and high[0] == pytest.approx(1.0)
    low, high = ci.studentized(estimate, error, boot, boot_error, np.array([1.5]), 0.9)  # t* = +1
    assert low[0] == pytest.approx(0.9) and high[0] == pytest.approx(0.9)


def test_studentized_interval_is_empty_without_variation_and_clipped_to_its_range():
    rng = np.random.default_rng(0)
    boot = rng.normal(0.5, 0.1, (200, 3))
    boot_error = np.full((200, 3), 0.1)
    estimate, error = np.array([0.5, 0.5, 0.02]), np.array([0.1, 0.0, 0.1])
    low, high = ci.studentized(estimate, error, boot, boot_error, np.full(3, 0.5), 0.9, bounds=(0.0, 1.0))
    assert np.isfinite(low[0]) and low[0] < 0.5 < high[0]
    assert np.isnan(low[1]) and np.isnan(high[1])  # no variation in the pool: no interval
    assert low[2] == 0.0  # clipped at the column's lower end


def test_a_side_the_resamples_cannot_bound_ends_at_the_columns_range():
    """A pool whose variation rests on one rare draw: the resamples that lack it sit below the target
    without variation (t* = -inf) in 30% of them, so the upper end is the range's (the pool cannot
    bound it) and the lower end is the studentized one; without a finite range, or where both ends
    reach the range, no interval."""
    rng = np.random.default_rng(2)
    boot = rng.normal(0.5, 0.1, (200, 1))
    boot_error = np.full((200, 1), 0.1)
    boot[:60], boot_error[:60] = 0.2, 0.0  # the resamples without the rare draw
    estimate, error, target = np.array([0.5]), np.array([0.1]), np.array([0.5])
    low, high = ci.studentized(estimate, error, boot, boot_error, target, 0.9, bounds=(0.0, 2.0))
    pivot = np.where(boot_error > 0, (boot - target) / np.where(boot_error > 0, boot_error, 1), -np.inf)[:, 0]
    assert high[0] == 2.0
    assert low[0] == pytest.approx(0.5 - 0.1 * np.sort(pivot)[190], rel=1e-12)  # order statistic ceil(201 x 0.95)
    low, high = ci.studentized(estimate, error, boot, boot_error, target, 0.9)
    assert np.isnan(low[0]) and np.isnan(high[0])
    boot[60:120], boot_error[60:120] = 0.8, 0.0  # as many resamples above the target: neither side bounded
    low, high = ci.studentized(estimate, error, boot, boot_error, target, 0.9, bounds=(0.0, 2.0))
    assert np.isnan(low[0]) and np.isnan(high[0])  # [0, 2] would say nothing
    boot[60:120], boot_error[60:120] = rng.normal(0.5, 0.1, (60, 1)), 1e-9  # huge finite t* above
    low, high = ci.studentized(estimate, error, boot, boot_error, target, 0.9, bounds=(0.0, 2.0))
    assert np.isnan(low[0]) and np.isnan(high[0])  # both ends clipped to the range: the same
    for below_one, shown in ((0.05, False), (0.2, True)):  # an end within the error (0.1) of the range: at it
        pivots = np.r_[np.full(100, (0.5 - (1 - below_one)) / 0.1), np.full(100, 100.0)]  # low end: clipped to 0
        boot, boot_error = target + pivots[:, None], np.ones((200, 1))
        low, high = ci.studentized(estimate, error, boot, boot_error, target, 0.9, (0.0, 1.0))
        assert np.isnan(low[0]) != shown and (not shown or (low[0] == 0.0 and high[0] == pytest.approx(0.8)))


def test_resamples_depend_on_the_prompt_not_on_its_neighbours():
    from bonkl.pools import build_pools

    rng = np.random.default_rng(1)
    draws = rng.integers(0, 20, 3 * 40)
    prompts = np.repeat(["a", "b", "c"], 40)
    p = np.full(20, 0.05)
    pools = build_pools(prompts, np.log(p[draws]), draws.astype(float), draws.astype(str))
    alone = build_pools(prompts[40:80], np.log(p[draws[40:80]]), draws[40:80].astype(float), draws[40:80].astype(str))
    settings = IntervalSettings(30, seed=5)
    together = ci.resample_counts(pools.groups[0], pools.ids, settings)[:, 1]
    single = ci.resample_counts(alone.groups[0], alone.ids, settings)[:, 0]
    np.testing.assert_array_equal(together, single)


def _integers_counts(seed, owner, replicates, width, block):
    """The counts of numpy's own ``Generator.integers`` positions, drawn ``block`` resamples at a time."""
    rng, size = np.random.default_rng(seed), owner.size
    out = np.zeros((replicates, width), dtype=np.int64)
    for start in range(0, replicates, block):
        positions = rng.integers(0, size, size=(min(block, replicates - start), size), dtype=np.int32)
        for row, drawn in enumerate(positions, start):
            out[row] = np.bincount(owner[drawn], minlength=width)
    return out


@pytest.mark.parametrize(
    "size, replicates, words",
    [(1, 5, 4), (2, 7, 1), (3, 20, 3), (7, 9, 2), (64, 50, 1 << 21), (1001, 4, 5), (3_000_001, 2, 1 << 20)],
)
def test_resampled_positions_are_numpys_integers_exactly(size, replicates, words):
    """The compiled count takes numpy's own stream: the positions ``Generator.integers(0, N)`` draws,
    whatever blocks the raw words come in (an odd size splits a word between resamples; at
    N = 3,000,001 numpy rejects about one draw in 2,200, so its rejections are crossed too)."""
    from bonkl.resampled import count_uniform_draws

    rng = np.random.default_rng(size)
    width = min(size, 9)
    owner = np.sort(rng.integers(0, width, size)).astype(np.int32)
    bits = np.random.PCG64([4, size])
    out, state = np.zeros((replicates, width), dtype=np.int32), np.zeros(2, dtype=np.int64)
    while state[0] < replicates:
        count_uniform_draws(bits.random_raw(words), owner, out, state)
    for block in (1, 3, replicates):
        np.testing.assert_array_equal(out, _integers_counts([4, size], owner, replicates, width, block))


def test_resamples_follow_the_multinomial_of_the_pools_empirical_distribution():
    """Every count vector of a pool of 5 draws (outcomes drawn 1, 1 and 3 times), over 20,000
    resamples, against its multinomial probability: a chi-square far inside its 1e-6 tail."""
    from scipy import stats

    from bonkl.pools import build_pools

    draws = np.array([0, 1, 2, 2, 2])
    pools = build_pools(["p"] * 5, np.log([0.1, 0.2, 0.3, 0.3, 0.3]), draws.astype(float), draws.astype(str))
    group = pools.groups[0]
    counts = ci.resample_counts(group, pools.ids, IntervalSettings(20_000, seed=3))[:, 0, :3]
    assert counts.dtype == np.int32 and (counts.sum(axis=1) == 5).all()
    seen, frequency = np.unique(counts, axis=0, return_counts=True)
    p = group.count[0, :3] / 5
    expected = 20_000 * stats.multinomial.pmf(seen, 5, p)
    assert len(seen) == 21 and expected.sum() == pytest.approx(20_000)  # every vector of 5 draws over 3 outcomes
    statistic = np.sum((frequency - expected) ** 2 / expected)
    assert stats.chi2.sf(statistic, len(seen) - 1) > 1e-6
    np.testing.assert_allclose(counts.mean(axis=0), 5 * p, atol=0.03)  # standard error about 0.007
