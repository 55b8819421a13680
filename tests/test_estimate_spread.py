"""The spread columns of the estimate table: ``kl_estimator_q05/_q95`` and ``kl_estimator_tilted_min/_max``,
and eq. 25's level mass under ``ties="random"`` (what :mod:`bonkl.columns` says they are).

The law behind every spread column is that of ``KLhat(eps)`` (eq. 25, ``eps`` the winner's level mass
bound) under the pool's best-of-n weights, as :func:`bonkl.pool.estimator_distribution` lists it:

* ``q05``/``q95``: the smallest value whose weighted CDF reaches 5% / 95%; checked against a brute
  force over that list (sorted values, cumulative weights in exact fractions), against the model's
  exact law on a pool that is the model (tie-aware best-of-n, :func:`bonkl.ties.tied_bon_pmf`), and
  for order and range on random pools at every ``n``.
* tilted min/max at tilt ``t``: eq. 133 at ``-t``/``+t`` on the same law (``bonkl.tilted_mean`` and an
  mpmath evaluation), bracketing the mean within Hoeffding's bound ``t (max - min)^2/8``, and within
  ``log(1/w_max)/t`` of the max (min) for large ``t``.
* eq. 25 under random ties uses the level mass: the summed probabilities of the level's distinct
  sampled answers, capped at 1.
"""

from __future__ import annotations

import itertools
import math
import os
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bonkl
from bonkl.pool import estimator_distribution, make_pool, pool_estimates
from bonkl.ties import level_masses, tied_bon_pmf

QUANTILES = {"kl_estimator_q05": 0.05, "kl_estimator_q95": 0.95}
PLUGIN_NS = [1.0, 1.5, 2.0, 3.7, 8.0, 30.0, 100.0]


def property_settings(max_examples):
    """No deadline; derandomised (the same examples on every run) unless BONKL_HYPOTHESIS_RANDOM is set."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=os.environ.get("BONKL_HYPOTHESIS_RANDOM") is None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def pool_of(mass, reward, counts, seed=0):
    """A pool holding answer ``i`` (probability ``mass[i]``, reward ``reward[i]``) ``counts[i]`` times, shuffled."""
    mass, reward = np.asarray(mass, dtype=np.float64), np.asarray(reward, dtype=np.float64)
    draws = np.random.default_rng(seed).permutation(np.repeat(np.arange(mass.size), counts))
    return make_pool(np.log(mass[draws]), reward[draws], [f"answer{i}" for i in draws])


@st.composite
def random_pools(draw, max_answers=6, max_count=5):
    """A pool of a model with up to 6 sampled answers (masses summing to at most 1, some tiny),
    rewards from {0, 1, 2, 3} so that distinct answers often tie, each answer drawn 1-5 times."""
    k = draw(st.integers(1, max_answers))
    raw = np.array(draw(st.lists(st.one_of(st.floats(1e-3, 1.0), st.floats(1e-9, 1e-3)), min_size=k, max_size=k)))
    total = draw(st.sampled_from([1.0, 0.999, 0.5, 0.05]))
    mass = raw / raw.sum() * total
    reward = draw(st.lists(st.integers(0, 3), min_size=k, max_size=k))
    counts = draw(st.lists(st.integers(1, max_count), min_size=k, max_size=k))
    return pool_of(mass, reward, counts, seed=draw(st.integers(0, 3)))


@st.composite
def cases(draw):
    """``(pool, ties, method, ns)``: every n <= N for the unbiased weights, real n (beyond N too) for the plug-in."""
    pool = draw(random_pools())
    ties = draw(st.sampled_from(["random", "logprob"]))
    method = draw(st.sampled_from(["unbiased", "plugin"]))
    ns = list(range(1, pool.num_draws + 1)) if method == "unbiased" else PLUGIN_NS
    return pool, ties, method, np.array(ns, dtype=np.float64)


def laws(pool, ns, ties, method):
    """Per n: ``(values, weights)`` of KLhat under best-of-n, one entry per outcome (estimator_distribution)."""
    table = estimator_distribution(pool, ns, ties=ties, method=method)
    return [(part["kl_estimator"].to_numpy(), part["weight"].to_numpy()) for _, part in table.groupby("n", sort=False)]


def brute_quantile(values, weights, q):
    """The smallest value whose weighted CDF (exact sums of the float weights) reaches ``q`` of the total;
    within a relative 1e-9 of ``q`` counts as reaching it (the weights carry float rounding)."""
    total = sum(Fraction(float(w)) for w in weights)
    target = Fraction(q) * total * (1 - Fraction(1, 10**9))
    cumulative = Fraction(0)
    for value, weight in sorted(zip(values, weights), key=lambda vw: vw[0]):
        cumulative += Fraction(float(weight))
        if cumulative >= target:
            return float(value)
    raise AssertionError("the cumulative weight never reached q")


# ---------------------------------------------------------------------------------------------
# Quantiles


@property_settings(60)
@given(case=cases())
def test_quantiles_are_the_weighted_quantiles_of_the_estimator_distribution(case):
    """Claim: kl_estimator_q05/_q95 are the 5%/95% quantiles (smallest value whose weighted CDF reaches
    q) of KLhat(eps) under the best-of-n weights; brute force over estimator_distribution's list."""
    pool, ties, method, ns = case
    table = pool_estimates(pool, ns, ties=ties, method=method)
    for row, (values, weights) in enumerate(laws(pool, ns, ties, method)):
        for name, q in QUANTILES.items():
            assert table[name][row] == brute_quantile(values, weights, q), (name, ns[row])


@property_settings(60)
@given(case=cases())
def test_quantiles_are_ordered_and_inside_the_values_of_positive_weight(case):
    """Claim (every n): q05 <= q95, and both lie in [min, max] of the KLhat values that have positive
    best-of-n weight (an outcome the weights cannot pick never sets a quantile)."""
    pool, ties, method, ns = case
    table = pool_estimates(pool, ns, ties=ties, method=method)
    for row, (values, weights) in enumerate(laws(pool, ns, ties, method)):
        picked = values[weights > 0]
        low, high = table["kl_estimator_q05"][row], table["kl_estimator_q95"][row]
        assert low <= high, ns[row]
        assert picked.min() <= low and high <= picked.max(), ns[row]


def tied_model():
    """Seven answers in four reward levels, and a pool that holds each in exact proportion (20 draws)."""
    counts = np.array([2, 3, 1, 4, 2, 5, 3])
    reward = np.array([0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 3.0])
    p = counts / counts.sum()
    return p, reward, pool_of(p, reward, counts)


def exact_law(p, reward, n):
    """The model's exact law of KLhat(P_g) under tie-aware best-of-n: per level g, its mass P_g and
    P[winner in g] (tied_bon_pmf summed over the level)."""
    masses, level = level_masses(p, reward)
    winner = np.bincount(level, weights=tied_bon_pmf(p, reward, float(n)), minlength=masses.size)
    return bonkl.kl_estimator(masses, float(n)), winner


@pytest.mark.parametrize("n", [1.0, 1.5, 2.0, 4.0, 16.0, 64.0, 1000.0])
def test_quantiles_on_a_pool_that_is_the_model_are_those_of_the_exact_law(n):
    """Claim: on an exact-frequency pool with plug-in weights (ties="random") the quantile columns are
    the quantiles of the model's exact law of KLhat under tie-aware best-of-n, eps the level mass."""
    p, reward, pool = tied_model()
    row = pool_estimates(pool, [n], ties="random", method="plugin").iloc[0]
    values, winner = exact_law(p, reward, n)
    for name, q in QUANTILES.items():
        assert row[name] == pytest.approx(brute_quantile(values, winner, q), rel=1e-12, abs=1e-15), name
    assert row["kl_estimator_mean"] == pytest.approx(float(winner @ values), rel=1e-12, abs=1e-15)


def test_quantiles_of_the_tied_model_spread_across_levels():
    """The exact-law check above is not vacuous: at n = 2 the 5% and 95% quantiles of the tied model
    differ (the winner's level is the top one with probability 1 - 0.85^2 = 0.2775, the third with
    0.85^2 - 0.3^2 = 0.6325: q05 is KLhat at the third level's mass 0.55, q95 at the top's 0.15)."""
    p, reward, pool = tied_model()
    row = pool_estimates(pool, [2.0], ties="random", method="plugin").iloc[0]
    assert row["kl_estimator_q05"] == pytest.approx(float(bonkl.kl_estimator(0.55, 2.0)), rel=1e-12)
    assert row["kl_estimator_q95"] == pytest.approx(float(bonkl.kl_estimator(0.15, 2.0)), rel=1e-12)
    assert row["kl_estimator_q05"] < row["kl_estimator_q95"]


# ---------------------------------------------------------------------------------------------
# Tilted means


def mp_tilted(values, weights, t):
    """Eq. 133, ``(1/t) log(sum w e^(t v) / sum w)``, at 50 digits."""
    with mp.workdps(50):
        w = [mp.mpf(float(x)) for x in weights]
        v = [mp.mpf(float(x)) for x in values]
        moment = mp.fsum(wi * mp.exp(t * vi) for wi, vi in zip(w, v)) / mp.fsum(w)
        return float(mp.log(moment) / t)


@property_settings(40)
@given(case=cases(), tilt=st.sampled_from([0.1, 1.0, 5.0, 50.0]))
def test_tilted_columns_are_eq_133_on_the_same_law(case, tilt):
    """Claim: kl_estimator_tilted_min/_max at tilt t are bonkl.tilted_mean(values, -t / +t, weights) on
    the law of KLhat under best-of-n, and agree with eq. 133 evaluated in mpmath."""
    pool, ties, method, ns = case
    table = pool_estimates(pool, ns, ties=ties, method=method, tilt=tilt)
    for row, (values, weights) in enumerate(laws(pool, ns, ties, method)):
        for name, t in (("kl_estimator_tilted_min", -tilt), ("kl_estimator_tilted_max", tilt)):
            got = table[name][row]
            assert got == pytest.approx(float(bonkl.tilted_mean(values, t, weights)), rel=1e-12, abs=1e-15)
            assert got == pytest.approx(mp_tilted(values, weights, t), rel=1e-10, abs=1e-13), (name, ns[row])


@property_settings(40)
@given(case=cases(), tilt=st.sampled_from([1e-9, 1e-3, 0.5, 1.0, 20.0]))
def test_tilted_columns_bracket_the_mean_within_hoeffdings_bound(case, tilt):
    """Claims: tilted_min <= kl_estimator_mean <= tilted_max, and (Jensen, Hoeffding's lemma for a value
    in [a, b]) 0 <= tilted_max - mean <= t (b - a)^2/8, likewise mean - tilted_min, so both converge
    to the mean as t -> 0. [a, b] is the range of the values with positive weight."""
    pool, ties, method, ns = case
    table = pool_estimates(pool, ns, ties=ties, method=method, tilt=tilt)
    for row, (values, weights) in enumerate(laws(pool, ns, ties, method)):
        picked = values[weights > 0]
        mean = table["kl_estimator_mean"][row]
        assert mean == pytest.approx(float(weights @ values / weights.sum()), rel=1e-12, abs=1e-15)
        slack = 1e-12 * (1 + abs(mean))
        spread = tilt * (picked.max() - picked.min()) ** 2 / 8
        low, high = table["kl_estimator_tilted_min"][row], table["kl_estimator_tilted_max"][row]
        assert low - slack <= mean <= high + slack, ns[row]
        assert high - mean <= spread + slack and mean - low <= spread + slack, ns[row]


@property_settings(25)
@given(case=cases())
def test_tilted_columns_converge_to_the_max_and_min_as_the_tilt_grows(case):
    """Claim: tilted_max -> max and tilted_min -> min of the values with positive weight as t grows.
    E[e^(tV)] >= w_top e^(t max) gives max + log(w_top)/t <= tilted_max <= max (w_top: the share of
    weight at the max), and the same for the min; checked at t = 10 ... 1e7."""
    pool, ties, method, ns = case
    distribution = laws(pool, ns, ties, method)
    for tilt in (10.0, 1e3, 1e5, 1e7):
        table = pool_estimates(pool, ns, ties=ties, method=method, tilt=tilt)
        for row, (values, weights) in enumerate(distribution):
            share = weights / weights.sum()
            picked = values[weights > 0]
            top, bottom = picked.max(), picked.min()
            w_top = share[(values == top) & (weights > 0)].sum()
            w_bottom = share[(values == bottom) & (weights > 0)].sum()
            high, low = table["kl_estimator_tilted_max"][row], table["kl_estimator_tilted_min"][row]
            slack = 1e-12 * (1 + top)
            assert top + math.log(w_top) / tilt - slack <= high <= top + slack, (tilt, ns[row])
            assert bottom - slack <= low <= bottom - math.log(w_bottom) / tilt + slack, (tilt, ns[row])


# ---------------------------------------------------------------------------------------------
# Eq. 25 with the level mass under random ties


def ten_tied_top_answers():
    """Ten answers of probability 0.05 tied at the top reward (level mass 0.5) above five answers of
    0.1 with distinct lower rewards; the pool holds each in exact proportion (20 draws)."""
    p = np.array([0.1] * 5 + [0.05] * 10)
    reward = np.array([0.0, 1.0, 2.0, 3.0, 4.0] + [10.0] * 10)
    counts = np.array([2] * 5 + [1] * 10)
    return p, reward, counts, pool_of(p, reward, counts)


def test_eq_25_uses_the_level_mass_under_random_ties():
    """Claim: with ties="random", eq. 25 is evaluated at the winner's level mass. On a pool that is the
    model (plug-in), kl_estimator_mean = sum_g P[winner in g] KLhat(P_g, n) with the tie-aware law.
    It is far below the per-answer value E_{pi_n}[KLhat(pi(y), n)] (about 2.84 at n = 64: the winner is
    nearly always a 0.05 answer and KLhat(0.05, 64) = 2.844), and at n = 64 it is about log 2 = 0.693,
    the tie-aware KL (bonkl.tied_kl_exact; KLhat(0.5, 64) = log 2 up to 0.5^64)."""
    p, reward, _, pool = ten_tied_top_answers()
    ns = np.array([1.0, 2.0, 8.0, 64.0])
    table = pool_estimates(pool, ns, ties="random", method="plugin")
    expected = [float(np.dot(*exact_law(p, reward, n)[::-1])) for n in ns]
    np.testing.assert_allclose(table["kl_estimator_mean"], expected, rtol=1e-12, atol=1e-15)
    per_answer = np.sum(tied_bon_pmf(p, reward, ns) * bonkl.kl_estimator(p, ns[:, None]), axis=1)
    at_64 = table["kl_estimator_mean"].iloc[-1]
    assert 2.8 < per_answer[-1] < 2.9 and at_64 < per_answer[-1] / 4
    assert at_64 == pytest.approx(math.log(2), rel=1e-12)
    assert at_64 == pytest.approx(float(bonkl.tied_kl_exact(p, reward, 64.0)), rel=1e-12)
    # ties="logprob" breaks the tie by a fixed order: eq. 25 then sees each answer's own mass
    strict = pool_estimates(pool, [64.0], ties="logprob", method="plugin")["kl_estimator_mean"].iloc[0]
    assert strict == pytest.approx(float(bonkl.kl_estimator(0.05, 64.0)), rel=1e-6)


def test_eq_25_level_mass_with_the_unbiased_weights():
    """Claim: with the unbiased weights too, kl_estimator_mean = sum_g W_g(n) KLhat(P_g, n) with
    W_g = (C(A_g, n) - C(A_{g-1}, n))/C(N, n) (exact binomials), P_g the level mass, every n <= N;
    and estimator_distribution gives each of the ten tied answers the value KLhat(0.5, n)."""
    p, reward, counts, pool = ten_tied_top_answers()
    masses = np.array([0.1] * 5 + [0.5])
    draws = [2] * 5 + [10]
    upper = list(itertools.accumulate(draws))
    ns = np.arange(1, 21)
    table = pool_estimates(pool, ns, ties="random")
    for n in ns:
        w = [Fraction(math.comb(a, n) - math.comb(a - m, n), math.comb(20, n)) for a, m in zip(upper, draws)]
        expected = math.fsum(float(wg) * float(bonkl.kl_estimator(P, float(n))) for wg, P in zip(w, masses))
        assert table["kl_estimator_mean"][n - 1] == pytest.approx(expected, rel=1e-12, abs=1e-15), n
    law = estimator_distribution(pool, [8], ties="random")
    top = law["kl_estimator"].to_numpy()[-10:]
    np.testing.assert_allclose(top, float(bonkl.kl_estimator(0.5, 8.0)), rtol=1e-14)


def test_eq_25_level_mass_counts_only_the_sampled_answers():
    """Claim: the level mass is the sum over the level's DISTINCT SAMPLED answers (a lower bound on the
    model's level mass): a pool holding three of the ten tied 0.05 answers (one of them twice) gives
    them all the value KLhat(0.15, n), and a duplicate draw does not add its probability again."""
    p = np.array([0.1, 0.1, 0.05, 0.05, 0.05])
    reward = np.array([0.0, 1.0, 10.0, 10.0, 10.0])
    pool = pool_of(p, reward, [1, 2, 1, 2, 1])
    law = estimator_distribution(pool, [1, 4], ties="random", method="unbiased")
    at_4 = law[law["n"] == 4]["kl_estimator"].to_numpy()
    np.testing.assert_allclose(at_4[-3:], float(bonkl.kl_estimator(0.15, 4.0)), rtol=1e-14)
    np.testing.assert_allclose(at_4[:2], bonkl.kl_estimator(np.array([0.1, 0.1]), 4.0), rtol=1e-14)


def test_eq_25_level_mass_is_capped_at_one():
    """Claim: the level mass is capped at 1. Two tied answers of probability 0.5 + 2e-7 each (a total
    1 + 4e-7, within the float tolerance the pool accepts) form one level of mass 1, where KLhat is 0:
    every spread column is 0 at every n, without an error."""
    p = np.array([0.5 + 2e-7, 0.5 + 2e-7])
    pool = pool_of(p, [1.0, 1.0], [3, 2])
    for method, ns in (("unbiased", [1, 2, 5]), ("plugin", [1.0, 2.5, 64.0])):
        table = pool_estimates(pool, ns, ties="random", method=method)
        for name in ("kl_estimator_mean", *QUANTILES, "kl_estimator_tilted_min", "kl_estimator_tilted_max"):
            assert (table[name] == 0.0).all(), (method, name)
