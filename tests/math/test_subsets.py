"""Best-of-n over the n-subsets of a pool (bonkl.subsets): the unbiased U-statistic weights.

References: every n-subset enumerated (itertools.combinations) for small pools, and exact
rational arithmetic (``fractions.Fraction``, ``math.comb``) for pools up to 2000 draws, counted
by a route of its own (the reference draw fixed first, the subset drawn from the rest).
"""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mpref import property_settings

import bonkl
from bonkl.subsets import subset_bon_weights, subset_win_rate


def small_pools(count=40, seed=6000):
    """Random level counts (1 to 6 levels, 1 to 3 draws each) with at most 9 draws."""
    rng = np.random.default_rng(seed)
    pools = []
    while len(pools) < count:
        counts = rng.integers(1, 4, size=rng.integers(1, 7))
        if counts.sum() <= 9:
            pools.append(counts)
    return pools


SMALL_POOLS = small_pools()


def enumerate_subsets(counts, n):
    """``(W_g(n), win rate)`` by brute force: every ``n``-subset of the draws, and for the win rate
    every further draw outside the subset (tie 1/2)."""
    level = np.repeat(np.arange(len(counts)), counts)
    draws = range(level.size)
    weights = [Fraction(0)] * len(counts)
    wins, pairs = Fraction(0), 0
    subsets = list(itertools.combinations(draws, n))
    for subset in subsets:
        top = max(level[i] for i in subset)
        weights[top] += Fraction(1, len(subsets))
        for z in set(draws) - set(subset):
            wins += 1 if top > level[z] else Fraction(1, 2) if top == level[z] else 0
            pairs += 1
    return weights, (wins / pairs if pairs else None)


def exact_weights(counts, n):
    """``W_g(n) = (C(A_g, n) - C(A_{g-1}, n)) / C(N, n)`` in exact rationals."""
    upper = np.cumsum(counts).tolist()
    lower = [0] + upper[:-1]
    total = math.comb(upper[-1], n)
    return [Fraction(math.comb(a, n) - math.comb(b, n), total) for a, b in zip(upper, lower)]


def exact_win_rate(counts, n):
    """The win rate in exact rationals: the reference draw ``z`` in level ``h`` fixed first (``m_h``
    ways), then the ``n``-subset drawn from the ``N - 1`` other draws, whose best is in level ``g``
    in ``C(A_g - [h <= g], n) - C(A_{g-1} - [h <= g-1], n)`` ways."""
    counts = [int(c) for c in counts]
    upper = np.cumsum(counts).tolist()
    lower = [0] + upper[:-1]
    wins = Fraction(0)
    for h, m_h in enumerate(counts):
        for g in range(h, len(counts)):  # below h the subset loses: no contribution
            ways = math.comb(upper[g] - 1, n) - math.comb(lower[g] - (h <= g - 1), n)
            wins += m_h * ways * (Fraction(1, 2) if g == h else 1)
    return wins / (math.comb(upper[-1] - 1, n) * upper[-1])


def assert_relative(got, ref, rtol, what):
    """``|got - ref| <= rtol |ref|`` in exact rationals; values below float64's range may be 0."""
    for index, (g, r) in enumerate(zip(np.ravel(got), ref)):
        assert np.isfinite(g) and g >= 0, f"{what}[{index}]: got {g!r}"
        error = abs(Fraction(float(g)) - r)
        assert error <= rtol * r or (r < 1e-300 and float(g) < 1e-300), (
            f"{what}[{index}]: got {g!r}, exact {float(r)!r}, relative error {float(error / r) if r else error}"
        )


# -- brute force ------------------------------------------------------------------------------


@pytest.mark.parametrize("counts", SMALL_POOLS, ids=lambda c: "-".join(map(str, c)))
def test_subsets_enumeration_of_every_subset_matches_weights_and_win_rate(counts):
    pool_size = int(counts.sum())
    ns = np.arange(1, pool_size + 1)
    weights = subset_bon_weights(counts, ns)
    assert weights.shape == (ns.size, counts.size)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=0, atol=1e-13)
    for row, n in zip(weights, ns):
        ref, win = enumerate_subsets(counts, int(n))
        np.testing.assert_allclose(row, [float(w) for w in ref], rtol=0, atol=1e-13)
        if n + 1 <= pool_size:
            assert abs(subset_win_rate(counts, [n])[0] - float(win)) <= 1e-13
    if pool_size > 1:
        np.testing.assert_allclose(
            subset_win_rate(counts, ns[:-1]),
            [float(enumerate_subsets(counts, int(n))[1]) for n in ns[:-1]],
            rtol=0,
            atol=1e-13,
        )


def test_subsets_counting_reference_agrees_with_enumeration():
    """The exact-rational references used below are themselves checked against brute force."""
    for counts in SMALL_POOLS:
        for n in range(1, int(counts.sum()) + 1):
            weights, win = enumerate_subsets(counts, n)
            assert exact_weights(counts, n) == weights
            if win is not None:
                assert exact_win_rate(counts, n) == win


# -- exact rationals, large pools ---------------------------------------------------------------


def large_pools():
    rng = np.random.default_rng(6100)
    return {
        "one_level_2000": np.array([2000]),
        "two_levels": np.array([1999, 1]),
        "rare_top_1000": np.array([600, 300, 99, 1]),
        "many_levels_2000": rng.multinomial(2000 - 40, np.full(40, 1 / 40)) + 1,
        "heavy_top_500": np.array([1, 2, 3, 494]),
        "uneven_1200": np.sort(rng.integers(1, 120, 20)),
    }


LARGE_POOLS = large_pools()


@pytest.mark.parametrize("name", sorted(LARGE_POOLS))
def test_subsets_exact_rationals_for_pools_up_to_2000(name):
    counts = LARGE_POOLS[name]
    pool_size = int(counts.sum())
    ns = sorted({1, 2, 3, 17, pool_size // 2, pool_size - 2, pool_size - 1, pool_size} - {0})
    ns = [n for n in ns if n >= 1]
    weights = subset_bon_weights(counts, ns)
    for row, n in zip(weights, ns):
        assert_relative(row, exact_weights(counts, n), 1e-12, f"W({name}, n={n})")
    ok = [n for n in ns if n + 1 <= pool_size]
    for got, n in zip(subset_win_rate(counts, ok), ok):
        assert_relative([got], [exact_win_rate(counts, n)], 1e-12, f"win rate({name}, n={n})")


def test_subsets_n_equal_pool_size_is_the_pool_maximum_and_n_one_the_empirical_masses():
    counts = LARGE_POOLS["many_levels_2000"]
    pool_size = int(counts.sum())
    top, first = subset_bon_weights(counts, [pool_size, 1])
    np.testing.assert_array_equal(top, np.eye(counts.size)[-1])
    np.testing.assert_allclose(first, counts / pool_size, rtol=1e-13)
    assert subset_win_rate(counts, [1])[0] == pytest.approx(0.5, abs=1e-14)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_subsets_many_draws_give_lemma_2_3_back(n):
    """``N -> infinity`` with fixed proportions: the weights tend to Lemma 2.3 (error ``O(n^2/N)``)."""
    proportions = np.array([5, 1, 7, 3, 2, 9, 1])
    p = proportions / proportions.sum()
    for scale, tol in ((10**2, 2e-2), (10**4, 2e-4)):
        counts = proportions * scale
        np.testing.assert_allclose(subset_bon_weights(counts, [n])[0], bonkl.bon_pmf(p, n), rtol=0, atol=n * n * tol)
        np.testing.assert_allclose(subset_win_rate(counts, [n])[0], bonkl.bon_win_rate(p, n), rtol=0, atol=n * n * tol)


def test_subsets_huge_pool_stays_finite_and_in_range():
    rng = np.random.default_rng(6200)
    counts = rng.multinomial(10**5 - 50, rng.dirichlet(np.full(50, 0.3))) + 1
    pool_size = int(counts.sum())
    ns = np.array([1, 10, 1000, pool_size // 2, pool_size - 1, pool_size])
    weights = subset_bon_weights(counts, ns)
    assert np.all(np.isfinite(weights)) and np.all(weights >= 0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    win = subset_win_rate(counts, ns[:-1])
    assert np.all(np.isfinite(win)) and np.all((win >= 0) & (win <= 1))
    assert np.all(np.diff(win) >= -1e-12)
    for n in (2, 50, 700, pool_size - 1):  # exact rationals where they stay cheap
        assert_relative(subset_bon_weights(counts, [n])[0], exact_weights(counts, n), 1e-12, f"W(n={n})")
        assert_relative(subset_win_rate(counts, [n]), [exact_win_rate(counts, n)], 1e-12, f"win rate(n={n})")


@pytest.mark.parametrize("pool_size, n", [(16, 3), (64, 8), (300, 37), (1500, 2), (1500, 700)])
def test_subsets_table_of_gaps_and_increments_are_exact(pool_size, n):
    """``SubsetRatio.difference`` on whole arrays (read from the table of gaps, which covers every
    gap of a small pool) and ``increment`` against exact rationals, gaps of 0 to ``N`` included."""
    from bonkl.subsets import SubsetRatio

    ratio = SubsetRatio.of(pool_size, n)
    rng = np.random.default_rng(pool_size + n)
    high = rng.integers(-1, pool_size + 1, 8 * pool_size)
    low = high - np.minimum(rng.geometric(0.05, high.size) - 1, high + 2)
    got = ratio.difference(low, high)
    assert got.size > 4 * (pool_size + 1)  # the table's path

    def exact(a):
        return Fraction(math.comb(a, n), math.comb(pool_size, n)) if a >= 0 else Fraction(0)

    checked = rng.choice(high.size, min(300, high.size), replace=False)
    assert_relative(got[checked], [exact(int(high[i])) - exact(int(low[i])) for i in checked], 1e-12, "difference")
    a = np.arange(-1, pool_size + 1)
    assert_relative(ratio.increment(a), [exact(int(k)) - exact(int(k) - 1) for k in a], 1e-12, "increment")


# -- input checks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "counts, n, message",
    [
        ([2, 3], [6], "larger than the pool allows for best-of-n"),
        ([2, 3], [0], "whole numbers >= 1"),
        ([2, 3], [2.5], "whole numbers >= 1"),
        ([2, 3], [np.nan], "whole numbers >= 1"),
        ([2, 0], [1], "counts must be whole numbers >= 1"),
        ([2, -1], [1], "counts must be whole numbers >= 1"),
        ([2, 1.5], [1], "counts must be whole numbers >= 1"),
        ([], [1], "non-empty 1-D"),
        ([[1, 2]], [1], "non-empty 1-D"),
    ],
)
def test_subsets_bad_input_rejected_for_weights(counts, n, message):
    with pytest.raises(ValueError, match=message):
        subset_bon_weights(counts, n)


@pytest.mark.parametrize(
    "counts, n, message",
    [
        ([2, 3], [5], "larger than the pool allows for the win rate"),
        ([1], [1], "larger than the pool allows for the win rate"),
        ([2, 3], [1.5], "whole numbers >= 1"),
        ([0, 3], [1], "counts must be whole numbers >= 1"),
    ],
)
def test_subsets_bad_input_rejected_for_win_rate(counts, n, message):
    with pytest.raises(ValueError, match=message):
        subset_win_rate(counts, n)


# -- properties ---------------------------------------------------------------------------------


@property_settings(150)
@given(counts=st.lists(st.integers(1, 60), min_size=1, max_size=25).map(np.array), data=st.data())
def test_subsets_weights_are_a_distribution_whose_top_mass_grows_with_n(counts, data):
    pool_size = int(counts.sum())
    ns = np.unique(data.draw(st.lists(st.integers(1, pool_size), min_size=1, max_size=12)) + [1, pool_size])
    weights = subset_bon_weights(counts, ns)
    assert np.all(weights >= 0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    top_mass = np.cumsum(weights[:, ::-1], axis=1)  # weight of the top k levels, k = 1..G
    assert np.all(np.diff(top_mass, axis=0) >= -1e-12)
    if pool_size > 1:
        win = subset_win_rate(counts, ns[ns < pool_size])
        assert np.all((win >= 0) & (win <= 1)) and np.all(np.diff(win) >= -1e-12)
