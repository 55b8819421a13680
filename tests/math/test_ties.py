"""Best-of-n with tied rewards (bonkl.ties): argmax over n i.i.d. draws, ties broken uniformly.

References: a Monte Carlo of the definition itself, the tie-aware PMF written in mpmath straight
from docs/MATH.md (levels, Lemma 2.3 over the levels, the level's mass shared by ``pi(y)``), and
the win rate enumerated over every pair of outcomes.
"""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mpref import (
    HARD_NS,
    HARD_PMFS,
    assert_close,
    digits_for,
    mp_masses,
    pmfs,
    property_settings,
    reference,
    sample_sizes,
)

import bonkl
from bonkl.ties import tied_bon_pmf, tied_bon_win_rate, tied_kl_exact, tied_log_bon_pmf

REPLICATIONS = 200_000
MAX_Z = 5.0


def _dirichlet(size, alpha, seed):
    return np.random.default_rng(seed).dirichlet(np.full(size, alpha))


# (masses, rewards) in increasing reward order; every model has ties.
TIED_MODELS = {
    "levels_0_to_3": (_dirichlet(12, 0.5, 11), np.sort(np.random.default_rng(12).integers(0, 4, 12)).astype(float)),
    "all_tied": (_dirichlet(5, 1.0, 13), np.zeros(5)),
    "tied_rare_top": (np.array([0.4, 0.3, 0.2, 0.07, 0.03]), np.array([0.0, 0.0, 1.0, 2.0, 2.0])),
    "pairs": (_dirichlet(6, 2.0, 14), np.array([-1.0, -1.0, 0.5, 0.5, 3.0, 3.0])),
}
MC_NS = [1, 2, 5, 16]


def draw_tied_best_of_n(rng, p, reward, n, size):
    """The definition: ``n`` i.i.d. draws; among those with the top reward, one picked uniformly."""
    draws = rng.choice(p.size, size=(size, n), p=p)
    values = reward[draws]
    tied = values == values.max(axis=1, keepdims=True)
    ticket = np.where(tied, rng.random((size, n)), -1.0)  # uniform among the tied draws
    return draws[np.arange(size), np.argmax(ticket, axis=1)]


def simulated(name, n, seed):
    """``(p, reward, rng, winners)``: ``REPLICATIONS`` tied best-of-n draws, seeded per model and ``n``."""
    p, reward = TIED_MODELS[name]
    rng = np.random.default_rng(seed + 10 * n + sorted(TIED_MODELS).index(name))
    return p, reward, rng, draw_tied_best_of_n(rng, p, reward, n, REPLICATIONS)


def max_z_score(outcomes, probabilities):
    """``max_y |freq(y) - p(y)| / sd``: each frequency's distance from ``p`` in standard errors."""
    freq = np.bincount(outcomes, minlength=probabilities.size) / outcomes.size
    sd = np.sqrt(probabilities * (1 - probabilities) / outcomes.size)
    return float(np.max(np.abs(freq - probabilities) / np.maximum(sd, 1e-300)))


# -- mpmath references (docs/MATH.md, "Ties") ---------------------------------------------------


def ref_tied_bon_pmf(p, reward):
    """``pi_n(y) = pi(y)/P_g (G_g^n - (G_g - P_g)^n)`` for ``y`` in level ``g`` (a function of ``n``)."""
    masses = mp_masses(p)
    values = sorted(set(float(r) for r in reward))
    level_mass = {v: mp.fsum(m for m, r in zip(masses, reward) if r == v) for v in values}
    cdf, running = {}, mp.mpf(0)
    for v in values:
        running += level_mass[v]
        cdf[v] = running

    def pmf(n):
        n = mp.mpf(float(n))
        return [m / level_mass[r] * (cdf[r] ** n - (cdf[r] - level_mass[r]) ** n) for m, r in zip(masses, reward)]

    return pmf


def ref_tied_kl(p, reward, n):
    """``sum_y pi_n(y) log(pi_n(y)/pi(y))`` over outcomes (not levels)."""
    pin = ref_tied_bon_pmf(p, reward)(n)
    return mp.fsum(q * mp.log(q / m) for q, m in zip(pin, mp_masses(p)) if q > 0)


def ref_tied_win_rate(p, reward, n):
    """Eq. 28 by enumeration: ``sum_{y,z} pi_n(y) pi(z) win(y, z)``, win 1, 1/2 on a tie, 0."""
    pin, masses = ref_tied_bon_pmf(p, reward)(n), mp_masses(p)
    half = mp.mpf(1) / 2
    return mp.fsum(
        q * m * (1 if ry > rz else half if ry == rz else 0)
        for q, ry in zip(pin, reward)
        for m, rz in zip(masses, reward)
    )


@st.composite
def tied_models(draw, max_size=12):
    """Masses (tiny ones included) with integer rewards in 0..3, so most outcomes share a level."""
    p = draw(pmfs(max_size=max_size))
    reward = np.sort(np.array(draw(st.lists(st.integers(0, 3), min_size=p.size, max_size=p.size)), dtype=float))
    return p, reward


# -- Monte Carlo: the definition --------------------------------------------------------------


@pytest.mark.parametrize("n", MC_NS)
@pytest.mark.parametrize("name", sorted(TIED_MODELS))
def test_ties_simulated_argmax_with_random_tie_break_matches_tied_bon_pmf(name, n):
    p, reward, _, winners = simulated(name, n, seed=4000)
    pin = tied_bon_pmf(p, reward, n)
    assert pin.shape == p.shape
    assert max_z_score(winners, pin) <= MAX_Z


@pytest.mark.parametrize("name", ["levels_0_to_3", "tied_rare_top", "pairs"])
def test_ties_monte_carlo_tells_tie_aware_from_strict_order(name):
    """The check has power: the same draws are far from Lemma 2.3 on the strict order."""
    p, reward = TIED_MODELS[name]
    winners = draw_tied_best_of_n(np.random.default_rng(4999), p, reward, 5, REPLICATIONS)
    assert max_z_score(winners, bonkl.bon_pmf(p, 5)) > 20


@pytest.mark.parametrize("n", MC_NS)
@pytest.mark.parametrize("name", sorted(TIED_MODELS))
def test_ties_simulated_win_rate_matches_tied_bon_win_rate(name, n):
    p, reward, rng, y = simulated(name, n, seed=5000)
    z = rng.choice(p.size, size=REPLICATIONS, p=p)
    wins = (reward[y] > reward[z]) + 0.5 * (reward[y] == reward[z])
    sigma = wins.std(ddof=1) / np.sqrt(wins.size)
    assert abs(wins.mean() - tied_bon_win_rate(p, reward, n)) <= 4 * sigma + 1e-12


# -- against mpmath ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1.0, 1.0 + 1e-9, 2.0, 7.5, 100.0, 1e6])
@pytest.mark.parametrize("name", sorted(TIED_MODELS))
def test_ties_tied_bon_pmf_kl_and_win_rate_match_mpmath(name, n):
    p, reward = TIED_MODELS[name]
    dps = digits_for(p, n)
    assert_close(
        tied_bon_pmf(p, reward, n),
        reference(lambda: ref_tied_bon_pmf(p, reward)(n), dps=dps),
        what=f"tied_bon_pmf({name}, {n})",
    )
    assert_close(
        tied_kl_exact(p, reward, n), reference(ref_tied_kl, p, reward, n, dps=dps), what=f"tied_kl_exact({name}, {n})"
    )
    assert_close(
        tied_bon_win_rate(p, reward, n),
        reference(ref_tied_win_rate, p, reward, n, dps=dps),
        what=f"tied_bon_win_rate({name}, {n})",
    )


@property_settings(100)
@given(model=tied_models(), n=sample_sizes)
def test_ties_tied_kl_exact_is_the_kl_of_tied_bon_pmf(model, n):
    p, reward = model
    dps = digits_for(p, n)
    assert_close(tied_kl_exact(p, reward, n), reference(ref_tied_kl, p, reward, n, dps=dps), what="tied_kl_exact")
    assert_close(
        tied_bon_pmf(p, reward, n), reference(lambda: ref_tied_bon_pmf(p, reward)(n), dps=dps), what="tied_bon_pmf"
    )


@property_settings(60)
@given(model=tied_models(max_size=8), n=sample_sizes)
def test_ties_tied_bon_win_rate_matches_pairwise_enumeration(model, n):
    p, reward = model
    ref = reference(ref_tied_win_rate, p, reward, n, dps=digits_for(p, n))
    assert_close(tied_bon_win_rate(p, reward, n), ref, what="tied_bon_win_rate")


# -- limits and structure ---------------------------------------------------------------------


@pytest.mark.parametrize("n", HARD_NS)
@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_ties_distinct_rewards_give_lemma_2_3(name, n):
    p = HARD_PMFS[name]
    reward = np.arange(p.size, dtype=float)
    np.testing.assert_allclose(tied_bon_pmf(p, reward, n), bonkl.bon_pmf(p, n), rtol=1e-13, atol=0)
    np.testing.assert_allclose(tied_kl_exact(p, reward, n), bonkl.kl_exact(p, n), rtol=1e-13, atol=0)
    np.testing.assert_allclose(tied_bon_win_rate(p, reward, n), bonkl.bon_win_rate(p, n), rtol=1e-13, atol=0)


@property_settings(100)
@given(p=pmfs(max_size=20), n=sample_sizes)
def test_ties_one_level_leaves_the_reference_unchanged(p, n):
    """All rewards equal: best-of-n is a uniformly chosen draw, i.e. ``pi`` itself."""
    reward = np.full(p.size, 2.5)
    np.testing.assert_allclose(tied_bon_pmf(p, reward, n), p, rtol=1e-12, atol=0)
    assert tied_kl_exact(p, reward, n) == 0.0
    assert tied_bon_win_rate(p, reward, n) == pytest.approx(0.5, abs=1e-15)


@property_settings(100)
@given(model=tied_models(max_size=20), n=sample_sizes)
def test_ties_ratio_to_reference_is_constant_within_a_level(model, n):
    """``pi_n(y)/pi(y)`` depends only on the level, and the PMF sums to 1."""
    p, reward = model
    log_ratio = tied_log_bon_pmf(p, reward, n) - np.log(p)
    for value in np.unique(reward):
        level = log_ratio[reward == value]
        finite = level[np.isfinite(level)]
        assert finite.size in (0, level.size)
        if finite.size:
            np.testing.assert_allclose(finite, finite[0], rtol=1e-12, atol=1e-12)
    assert tied_bon_pmf(p, reward, n).sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("n", [1.0, 3.0, 50.0])
def test_ties_zero_masses_change_nothing(n):
    """Outcomes of zero mass (one a whole level) get zero best-of-n mass; the rest is unchanged."""
    p, reward = np.array([0.3, 0.0, 0.2, 0.5, 0.0]), np.array([0.0, 1.0, 1.0, 2.0, 3.0])
    keep = p > 0
    pin = tied_bon_pmf(p, reward, n)
    assert np.all(pin[~keep] == 0)
    np.testing.assert_allclose(pin[keep], tied_bon_pmf(p[keep], reward[keep], n), rtol=1e-14)
    assert tied_kl_exact(p, reward, n) == pytest.approx(tied_kl_exact(p[keep], reward[keep], n), rel=1e-14, abs=1e-15)
    assert tied_bon_win_rate(p, reward, n) == pytest.approx(tied_bon_win_rate(p[keep], reward[keep], n), rel=1e-14)


def test_ties_broadcast_over_n():
    p, reward = TIED_MODELS["levels_0_to_3"]
    ns = np.array([1.0, 3.0, 40.0])
    table = tied_bon_pmf(p, reward, ns)
    assert table.shape == (3, p.size)
    for row, n in zip(table, ns):
        np.testing.assert_array_equal(row, tied_bon_pmf(p, reward, n))
    np.testing.assert_array_equal(tied_kl_exact(p, reward, ns), [tied_kl_exact(p, reward, n) for n in ns])


@pytest.mark.parametrize(
    "reward, message",
    [
        ([0.0, 2.0, 1.0], "non-decreasing"),
        ([0.0, np.nan, 1.0], "finite"),
        ([0.0, np.inf, np.inf], "finite"),
        ([0.0, 1.0], "one value per mass"),
    ],
)
def test_ties_bad_rewards_rejected(reward, message):
    p = np.array([0.2, 0.3, 0.5])
    for function in (tied_bon_pmf, tied_kl_exact, tied_bon_win_rate):
        with pytest.raises(ValueError, match=message):
            function(p, reward, 2.0)
