"""Pool estimators: on a pool whose empirical distribution is the model itself, every column is exact."""

import numpy as np
import pytest

import bonkl
from bonkl.pool import estimator_distribution, make_pool, pool_estimates, tilted_summary

NS = np.array([1, 2, 3, 8, 50, 1000])


def exact_pool(counts, seed=0):
    """A pool holding outcome i exactly counts[i] times, shuffled; its masses are counts/sum."""
    counts = np.asarray(counts)
    mass = counts / counts.sum()
    outcome = np.repeat(np.arange(counts.size), counts)
    np.random.default_rng(seed).shuffle(outcome)
    return mass, outcome


def test_pool_matches_model_when_pool_is_the_model():
    mass, outcome = exact_pool([5, 1, 7, 3, 2, 9, 1])
    reward = np.array([0.3, 2.0, -1.0, 5.0, 4.0, 0.0, 1.0])  # a reward order unrelated to the index
    pool = make_pool(np.log(mass[outcome]), reward[outcome], key=outcome)
    p = mass[np.argsort(reward)]
    table = pool_estimates(pool, NS)
    np.testing.assert_allclose(table["kl_bon"], bonkl.kl_bon(NS), rtol=1e-12)
    np.testing.assert_allclose(table["kl_estimator_mean"], bonkl.expected_kl_estimator(p, NS), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(table["kl_alternate"], bonkl.expected_kl_alternate(p, NS), rtol=1e-10, atol=1e-13)
    # Corollary 4.2 with F = pool's mass below + pi(y) is the true F here: the exact KL.
    np.testing.assert_allclose(table["kl_corollary_4_2"], bonkl.kl_exact(p, NS), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(table["win_rate"], bonkl.bon_win_rate(p, NS), rtol=1e-12)
    np.testing.assert_allclose(table["expected_reward"], bonkl.bon_pmf(p, NS) @ np.sort(reward), rtol=1e-12)


def test_identical_samples_merge_into_one_outcome():
    pool = make_pool([-1.0, -1.0, -2.0], [3.0, 3.0, 1.0], key=["a", "a", "b"])
    assert list(pool.count) == [1.0, 2.0]
    assert list(pool.key) == ["b", "a"]


def test_reward_ties_broken_by_logprob_then_key():
    pool = make_pool([-3.0, -1.0, -1.0], [0.0, 0.0, 0.0], key=["x", "z", "y"])
    assert list(pool.key) == ["x", "y", "z"]


def test_same_key_different_logprob_rejected():
    with pytest.raises(ValueError, match="one log-probability"):
        make_pool([-1.0, -1.5], [0.0, 0.0], key=["a", "a"])


@pytest.mark.parametrize("logprob, message", [([0.5], "<= 0"), ([np.nan], "finite"), ([], "empty")])
def test_bad_pools_rejected(logprob, message):
    with pytest.raises(ValueError, match=message):
        make_pool(logprob, np.zeros(len(logprob)))


def test_long_sequences_with_underflowing_probability_stay_finite():
    pool = make_pool([-2000.0, -900.0, -5.0], [1.0, 2.0, 3.0])
    table = pool_estimates(pool, NS)
    assert np.all(np.isfinite(table.drop(columns="n").to_numpy()))
    # eps -> 0 for the bottom outcome: its estimator is eq. 4 itself.
    assert bonkl.kl_estimator(pool.eps[0], 8.0) == pytest.approx(bonkl.kl_bon(8.0), rel=1e-12)


def test_tilted_band_brackets_the_mean():
    mass, outcome = exact_pool([1, 2, 3, 4, 10])
    pool = make_pool(np.log(mass[outcome]), outcome.astype(float), key=outcome)
    distribution = estimator_distribution(pool, NS)
    summary = tilted_summary(distribution, [0.5, 5.0])
    table = pool_estimates(pool, NS).merge(summary, on="n")
    assert np.all(table["kl_estimator_tilted_min"] <= table["kl_estimator_mean"] + 1e-12)
    assert np.all(table["kl_estimator_tilted_max"] >= table["kl_estimator_mean"] - 1e-12)
    weights = distribution.groupby("n")["weight"].sum()
    np.testing.assert_allclose(weights, 1.0, rtol=1e-12)
    wide = table[table["tilt"] == 5.0].reset_index()
    narrow = table[table["tilt"] == 0.5].reset_index()
    assert np.all(wide["kl_estimator_tilted_max"] >= narrow["kl_estimator_tilted_max"] - 1e-12)
