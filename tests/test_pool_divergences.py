"""Renyi, chi-square and TV of best-of-n estimated over a pool (bonkl.pool_divergences)."""

import math

import numpy as np
import pytest

import bonkl
from bonkl.pool import make_pool, pool_estimates
from bonkl.pool_divergences import pool_divergences

NS = [1, 2, 4, 16, 64]


def exact_frequency_pool():
    """A pool whose frequencies are the model's masses, every outcome's probability recorded exactly."""
    counts = np.array([3, 1, 4, 1, 5, 9, 2, 6])
    p = counts / counts.sum()
    draws = np.random.default_rng(0).permutation(np.repeat(np.arange(counts.size), counts))
    pool = make_pool(np.log(p[draws]), draws.astype(float), draws)
    return pool, p


def test_plugin_over_an_exact_frequency_pool_is_the_exact_divergence():
    pool, p = exact_frequency_pool()
    table = pool_divergences(pool, NS, alphas=(0.5, 2.0, 10.0), method="plugin")
    for alpha in (0.5, 2.0, 10.0, math.inf):
        name = "renyi_inf" if alpha == math.inf else f"renyi_{alpha:g}"
        np.testing.assert_allclose(table[name], bonkl.renyi_divergence_bon(p, NS, alpha), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(table[name + "_bound"], bonkl.renyi_bound(NS, alpha), rtol=1e-15)
    np.testing.assert_allclose(table["chi2"], bonkl.chi2_divergence_bon(p, NS), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(table["tv"], bonkl.tv_distance_bon(p, NS), rtol=1e-9, atol=1e-12)
    assert (table["chi2"] <= table["chi2_bound"] + 1e-12).all() and (table["tv"] <= table["tv_bound"] + 1e-12).all()


@pytest.mark.parametrize("method", ["plugin", "unbiased"])
def test_alpha_1_is_the_pools_corollary_4_2_kl(method):
    pool, _ = exact_frequency_pool()
    ns = [1, 2, 4, 16]
    table = pool_divergences(pool, ns, alphas=(1.0,), method=method)
    kl = pool_estimates(pool, ns, method=method)
    column = next(c for c in kl.columns if c.startswith("kl_corollary_4_2"))
    np.testing.assert_allclose(table["renyi_1"], kl[column], rtol=1e-12, atol=1e-15)


def test_unbiased_needs_n_within_the_pool_and_orders_are_checked():
    pool, _ = exact_frequency_pool()
    with pytest.raises(ValueError, match="larger than the pool"):
        pool_divergences(pool, [1, 1000])
    with pytest.raises(ValueError, match="alpha must be"):
        pool_divergences(pool, [1, 2], alphas=(0.0,))
    table = pool_divergences(pool, [1, 2, 31])
    assert np.all(np.isfinite(table.to_numpy())) and (table.drop(columns="n") >= 0).all().all()


def test_tied_rewards_are_one_level_under_random_tie_breaking():
    """Ties broken uniformly: each tied outcome keeps its level's ratio pi_n/pi, so the divergences are
    those of the model whose outcomes are the levels."""
    counts = np.array([2, 3, 1, 4, 2, 5])
    reward = np.array([0.0, 0.0, 1.0, 2.0, 2.0, 3.0])
    p = counts / counts.sum()
    draws = np.repeat(np.arange(counts.size), counts)
    pool = make_pool(np.log(p[draws]), reward[draws], draws)
    levels = np.array([p[0] + p[1], p[2], p[3] + p[4], p[5]])
    table = pool_divergences(pool, NS, alphas=(0.5, 2.0), method="plugin", ties="random")
    np.testing.assert_allclose(table["renyi_2"], bonkl.renyi_divergence_bon(levels, NS, 2.0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(table["tv"], bonkl.tv_distance_bon(levels, NS), rtol=1e-9, atol=1e-12)
